//! The demo's GitHub state: the real epic openedx/openedx-platform#38680 and its items
//! (`server/demo/github/`, a copy of `../shared/fixtures/github/epic-38680/` plus two files
//! derived from git), served by the demo's replay and read by the ordinary sync.

use crate::support::{finding, fresh_database, scan_input};
use std::{path::Path, sync::Arc};

use unthread_server::{
    demo::github_replay::{self, GitHubFixtures},
    github::{sync::SyncConfig, GitHub},
    ingest::scan::ingest,
};

fn demo_set() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/github")
}

#[test]
fn the_bundled_set_is_the_shared_fixture_set_unchanged() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/github/epic-38680");
    let mut compared = 0;
    for sub in ["", "issues", "pulls"] {
        for entry in std::fs::read_dir(shared.join(sub)).expect("../shared beside the checkout") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let relative = path.strip_prefix(&shared).unwrap();
            let copy =
                std::fs::read(demo_set().join(relative)).unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
            assert_eq!(copy, std::fs::read(&path).unwrap(), "{} differs from the shared fixture", relative.display());
            compared += 1;
        }
    }
    assert_eq!(compared, 20, "README, epic, sub-issues, 16 issues, 1 pull request");
    // The binary serves the same files as the directory.
    let bundled = format!("{:?}", GitHubFixtures::bundled().unwrap());
    assert_eq!(bundled, format!("{:?}", GitHubFixtures::from_dir(&demo_set()).unwrap()));
}

#[tokio::test]
async fn the_epic_syncs_through_the_replay_with_its_links() {
    let pool = fresh_database().await;
    let target = |kind: &str, name: &str| {
        let pool = pool.clone();
        let name = name.to_owned();
        let kind = kind.parse().unwrap();
        async move { db::models::targets::upsert(&pool, kind, &name).await.unwrap() }
    };
    target("platform", "openedx/openedx-platform").await;
    // The findings the items point at, where the scanner reports them.
    let xblock = target("library", "openedx/XBlock").await;
    let rlock = db::ingest::IncomingFinding {
        runs_at: None,
        symbol: Some("_CLASS_CACHE_LOCK".into()),
        ..finding("UT003", "xblock/runtime.py", 1226)
    };
    let elsewhere_in_runtime = finding("UT010", "xblock/runtime.py", 40);
    ingest(&pool, &scan_input(xblock, vec![rlock, elsewhere_in_runtime])).await.unwrap();
    let utils = target("library", "openedx/edx-django-utils").await;
    let cache = finding("UT001", "edx_django_utils/cache/utils.py", 45);
    let unfiled = finding("UT001", "edx_django_utils/monitoring/internal/utils.py", 12);
    ingest(&pool, &scan_input(utils, vec![cache, unfiled])).await.unwrap();

    let fixtures = Arc::new(GitHubFixtures::from_dir(&demo_set()).unwrap());
    let replay = github_replay::start(fixtures.clone()).await.unwrap();
    let github = GitHub::new(pool.clone(), &replay.url, None).unwrap();
    let config = SyncConfig { epics: vec![fixtures.epic()], repositories: fixtures.repositories() };
    let first = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    assert_eq!((first.issues, first.pulls), (15, 1), "the epic, its 14 sub-issues and XBlock#934: {first:?}");

    let issues: Vec<(String, i32, String, Option<i32>)> = sqlx::query_as(
        "SELECT repository, number, state, parent_number FROM gh_issues ORDER BY lower(repository), number",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let under_epic = issues.iter().filter(|i| i.3 == Some(38680)).count();
    assert_eq!(under_epic, 14, "{issues:?}");
    assert!(issues.iter().all(|i| i.1 != 38882), "the SPIKE item names no epic: not synced");
    let closed: Vec<_> = issues.iter().filter(|i| i.2 == "closed").map(|i| format!("{}#{}", i.0, i.1)).collect();
    assert_eq!(closed, ["openedx/XBlock#918"]);
    assert!(issues.iter().all(|i| !i.0.contains("demo")));

    let pull: (String, i32, bool, String, Vec<String>) = sqlx::query_as(
        "SELECT repository, number, merged, to_char(merged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), files FROM gh_pulls",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        pull,
        (
            "openedx/XBlock".into(),
            934,
            true,
            "2026-07-08 12:54".into(),
            vec!["CHANGELOG.rst".into(), "xblock/runtime.py".into(), "xblock/test/test_runtime.py".into()]
        )
    );

    let links: Vec<(String, String, String)> = sqlx::query_as(
        r#"SELECT l.how,
                  coalesce(t.name, ft.name || ':' || f.path || ':' || f.start_line),
                  coalesce(i.repository || '#' || i.number, p.repository || '#' || p.number)
           FROM links l
           LEFT JOIN targets t ON t.id = l.target_id
           LEFT JOIN findings f ON f.id = l.finding_id LEFT JOIN targets ft ON ft.id = f.target_id
           LEFT JOIN gh_issues i ON i.id = l.issue_id LEFT JOIN gh_pulls p ON p.id = l.pull_id
           ORDER BY 1, 2, 3"#,
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let link = |how: &str, item: &str, github: &str| (how.to_owned(), item.to_owned(), github.to_owned());
    assert_eq!(
        links,
        [
            // Permalinks: the lines they point at, not the rest of the file.
            link("mention", "openedx/XBlock:xblock/runtime.py:1226", "openedx/XBlock#918"),
            link(
                "mention",
                "openedx/edx-django-utils:edx_django_utils/cache/utils.py:45",
                "openedx/edx-django-utils#538"
            ),
            // The pull request changes runtime.py: both of its findings.
            link("path", "openedx/XBlock:xblock/runtime.py:1226", "openedx/XBlock#934"),
            link("path", "openedx/XBlock:xblock/runtime.py:40", "openedx/XBlock#934"),
            // Sub-issues in tracked repositories belong to their targets.
            link("sub_issue", "openedx/XBlock", "openedx/XBlock#918"),
            link("sub_issue", "openedx/edx-django-utils", "openedx/edx-django-utils#537"),
            link("sub_issue", "openedx/edx-django-utils", "openedx/edx-django-utils#538"),
            link("sub_issue", "openedx/edx-django-utils", "openedx/edx-django-utils#539"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38698"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38701"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38703"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38704"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38705"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38706"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38707"),
            link("sub_issue", "openedx/openedx-platform", "openedx/openedx-platform#38740"),
        ]
    );

    // Against the replay as against GitHub: a second run is all 304s and changes nothing.
    let second = unthread_server::github::sync::sync(&pool, &github, &config).await.unwrap();
    assert_eq!(second.not_modified, second.requests, "{second:?}");
    assert_eq!(second.new_links, 0);
}

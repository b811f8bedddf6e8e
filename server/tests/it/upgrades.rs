//! Upgrade advice end to end: a package index served by the test lists three releases of a
//! package built here — 1.0 (pinned: a thread local and a module-level lock), 1.1 (the newest
//! of the pinned major: the lock gone) and 2.0 (the newest: both still there). Scanning the
//! pin queues the release check, which scans 1.1 and 2.0 apart from the findings and compares
//! by fingerprint.

use sha2::{Digest, Sha256};
use unthread_server::jobs::{
    queue::{JobSpec, Jobs, Priority},
    run::Limits,
};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::{
    rescans::{context_with_index, run_queue},
    support::{archives::wheel, fresh_database},
};

const LOCAL: &str = "import threading\n\n_state = threading.local()\n\n\ndef current():\n    return _state\n";
const LOCK: &str = "import threading\n\nLOCK = threading.Lock()\n";

pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn release(version: &str, with_lock: bool) -> (String, Vec<u8>) {
    let metadata = format!(
        "Metadata-Version: 2.1\nName: pkg\nVersion: {version}\nRequires-Python: >=3.{}\nRequires-Dist: Django>=4.2\nProject-URL: Source, https://github.com/example/pkg\n",
        if version.starts_with('2') { 11 } else { 8 }
    );
    let mut files = vec![("pkg/__init__.py", LOCAL), ("pkg/locks.py", if with_lock { LOCK } else { "" })];
    let dist_info = format!("pkg-{version}.dist-info/METADATA");
    files.push((dist_info.as_str(), metadata.as_str()));
    (format!("pkg-{version}-py3-none-any.whl"), wheel(&files))
}

#[tokio::test]
async fn newer_releases_are_scanned_apart_and_compared_by_fingerprint() {
    let pool = fresh_database().await;
    let index = MockServer::start().await;
    let github = MockServer::start().await;
    let releases = [release("1.0", true), release("1.1", false), release("2.0", true)];
    let mut files = Vec::new();
    for (filename, bytes) in &releases {
        files.push(serde_json::json!({"filename": filename, "url": format!("../../files/{filename}"), "hashes": {"sha256": sha256(bytes)}}));
        Mock::given(method("GET"))
            .and(path(format!("/files/{filename}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            // Each downloaded once: a release checked again is not scanned again.
            .expect(1)
            .mount(&index)
            .await;
    }
    // A pre-release and a yanked release the advice must pass over.
    files.push(serde_json::json!({"filename": "pkg-3.0rc1-py3-none-any.whl", "url": "/files/never", "hashes": {"sha256": "00".repeat(32)}}));
    files.push(serde_json::json!({"filename": "pkg-2.1-py3-none-any.whl", "url": "/files/never", "hashes": {"sha256": "00".repeat(32)}, "yanked": "broken"}));
    let page = serde_json::json!({"meta": {"api-version": "1.1"}, "name": "pkg", "files": files});
    Mock::given(method("GET"))
        .and(path("/simple/pkg/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"))
        .mount(&index)
        .await;

    let jobs = Jobs::new(pool.clone());
    let spec = JobSpec::ScanDependency { name: "pkg".into(), version: "1.0".into(), github: None, cause: None };
    jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, Priority::Background, "test").await.unwrap();
    let context = context_with_index(&pool, &github, &format!("{}/simple/", index.uri()), Limits::default());
    run_queue(&jobs, context).await;

    let target = db::models::targets::id_by_name(&pool, "pkg").await.unwrap().unwrap();
    let advice = db::models::upgrades::advice(&pool, target).await.unwrap().expect("checked");
    assert_eq!((advice.pinned.as_deref(), advice.newest.as_deref(), advice.open), (Some("1.0"), Some("2.0"), 2));
    let options: Vec<(&str, bool, bool, i64)> =
        advice.options.iter().map(|o| (o.version.as_str(), o.newest, o.newest_in_major, o.clears)).collect();
    assert_eq!(options, [("1.1", false, true, 1), ("2.0", true, false, 0)]);
    assert_eq!(advice.options[0].requires_python.as_deref(), Some(">=3.8"));
    assert_eq!(advice.options[1].requires_dist, ["Django>=4.2"]);
    assert_eq!(advice.upstream.as_deref(), Some("https://github.com/example/pkg"));
    let still: Vec<&str> = advice.still_in_newest.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(still, ["UT001", "UT003"], "the newest release still has both");
    // The pinned findings themselves are untouched: a release nobody pins fixes nothing.
    let page = db::models::findings::explore(
        &pool,
        &db::views::FindingFilter { target: Some("pkg".into()), ..Default::default() },
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.total, 2);
    for row in &page.rows {
        let detail = db::models::findings::detail(&pool, row.id).await.unwrap().unwrap();
        assert_eq!(detail.newest_release, Some(("2.0".to_owned(), false)), "{}", row.rule);
    }
    // The dependency page's advice.
    let detail = db::models::targets::detail(&pool, "pkg").await.unwrap().unwrap();
    assert_eq!(detail.upgrade.as_ref().map(|a| a.options.len()), Some(2));

    // /contribute offers the bump (nobody owns the dependency).
    let bumps = db::models::upgrades::bump_items(&pool, 10).await.unwrap();
    let shown: Vec<(&str, Option<&str>, &str, i64, i64)> =
        bumps.iter().map(|b| (b.name.as_str(), b.pinned.as_deref(), b.version.as_str(), b.clears, b.open)).collect();
    assert_eq!(shown, [("pkg", Some("1.0"), "1.1", 1, 2)]);

    // Claiming the bump takes what it clears (the lock), not the dependency: its thread
    // local, which needs an upstream fix, stays unowned; the bump leaves /contribute.
    use db::{kinds::Role, models::claims, models::users};
    let cody = users::add_dev_user(&pool, "cody", None, Role::Contributor).await.unwrap();
    assert_eq!(claims::claim_bump(&pool, &cody, target, "1.1").await.unwrap(), 1);
    let owners: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT f.rule, u.login FROM findings f
         LEFT JOIN claims c ON c.finding_id = f.id AND c.released_at IS NULL LEFT JOIN users u ON u.id = c.owner_id
         WHERE f.target_id = $1 ORDER BY f.rule",
    )
    .bind(target)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(owners, [("UT001".to_owned(), None), ("UT003".to_owned(), Some("cody".to_owned()))]);
    let target_claims: i64 = sqlx::query_scalar("SELECT count(*) FROM claims WHERE target_id = $1")
        .bind(target)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(target_claims, 0, "the dependency itself is not claimed");
    assert!(db::models::upgrades::bump_items(&pool, 10).await.unwrap().is_empty(), "a claimed bump is not offered");
    // Another contributor cannot take it; a bump to a release that clears nothing is no bump.
    let dana = users::add_dev_user(&pool, "dana", None, Role::Contributor).await.unwrap();
    assert!(
        matches!(claims::claim_bump(&pool, &dana, target, "1.1").await, Err(claims::ClaimError::Taken { owner }) if owner == "cody")
    );
    assert!(matches!(claims::claim_bump(&pool, &cody, target, "2.0").await, Err(claims::ClaimError::NotFound(_))));
    // Released, it is offered again.
    assert!(matches!(claims::unclaim_bump(&pool, &dana, target, "1.1").await, Err(claims::ClaimError::NotYours)));
    assert_eq!(claims::unclaim_bump(&pool, &cody, target, "1.1").await.unwrap(), 1);
    assert_eq!(db::models::upgrades::bump_items(&pool, 10).await.unwrap().len(), 1);
    let checked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'upgrades.checked' AND target_id = $1")
            .bind(target)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(checked, 1);

    // The loose key the SQL computes for stored findings is the job's for a release's.
    let key: String = sqlx::query_scalar("SELECT release_finding_key('UT001', 'src/pkg/a.py', '  _state = local()\t')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(key, db::models::upgrades::loose_key("UT001", "pkg/a.py", "_state = local()"));

    // The nightly sweep checks again: nothing new on the index, the same advice.
    let spec = JobSpec::CheckUpgrades { name: "pkg".into() };
    jobs.enqueue(&mut pool.acquire().await.unwrap(), spec, Priority::Sweep, "test").await.unwrap();
    let context = context_with_index(&pool, &github, &format!("{}/simple/", index.uri()), Limits::default());
    run_queue(&jobs, context).await;
    let again = db::models::upgrades::advice(&pool, target).await.unwrap().unwrap();
    assert_eq!(again.options, advice.options);
    assert!(again.checked_at > advice.checked_at);
}

//! Progress and blockers computed from findings and the dependency graph.

use crate::support::{self, fresh_database};
use db::models::progress::{self, Progress};
use sqlx::PgPool;
use unthread_server::ingest::{
    requirements::import,
    scan::{ingest, IncomingFinding},
};

fn finding(n: usize, rule: &str) -> IncomingFinding {
    IncomingFinding {
        fingerprint: format!("fp-{rule}-{n}"),
        end_column: 10,
        ..support::finding(rule, &format!("pkg/m{n}.py"), 1)
    }
}

async fn scan(pool: &PgPool, target_id: i64, findings: Vec<IncomingFinding>) {
    ingest(pool, &support::scan_input(target_id, findings)).await.unwrap();
}

/// A dependency target for `package`, with the given findings.
async fn dependency(pool: &PgPool, package: &str, findings: Vec<IncomingFinding>) -> i64 {
    let id = db::models::targets::upsert(pool, db::kinds::TargetKind::Dependency, package).await.unwrap();
    sqlx::query("INSERT INTO target_packages (target_id, package_id) SELECT $1, id FROM packages WHERE name = $2")
        .bind(id)
        .bind(package)
        .execute(pool)
        .await
        .unwrap();
    scan(pool, id, findings).await;
    id
}

#[tokio::test]
async fn progress_counts_fixed_migrated_and_triaged_apart() {
    let pool = fresh_database().await;
    let repo =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-django-utils").await.unwrap();
    scan(
        &pool,
        repo,
        vec![finding(1, "UT001"), finding(2, "UT001"), finding(3, "UT003"), finding(4, "UT010"), finding(5, "UT100")],
    )
    .await;
    // UT003 is fixed by the next complete scan; UT010 is triaged away.
    scan(&pool, repo, vec![finding(1, "UT001"), finding(2, "UT001"), finding(4, "UT010"), finding(5, "UT100")]).await;
    sqlx::query("UPDATE findings SET triage = 'wont_fix', triage_reason = 'process-wide cache' WHERE rule = 'UT010'")
        .execute(&pool)
        .await
        .unwrap();

    let targets = progress::by_target(&pool).await.unwrap();
    let expected = Progress { open: 2, fixed: 1, migrated: 1, triaged_away: 1 };
    assert_eq!(targets[0].progress, expected);
    assert_eq!(expected.total(), 4);
    assert!((expected.percent_done() - 50.0).abs() < 1e-9);
    assert_eq!(progress::overall(&targets), expected);
    assert_eq!(Progress::default().percent_done(), 100.0, "nothing to do is done");

    let rules = progress::by_rule(&pool, Some(repo)).await.unwrap();
    let ut001 = rules.iter().find(|r| r.rule == "UT001").unwrap();
    assert_eq!(ut001.progress, Progress { open: 2, ..Default::default() });
    assert_eq!(rules.iter().find(|r| r.rule == "UT003").unwrap().progress.fixed, 1);
    assert!(progress::by_rule(&pool, Some(repo + 1000)).await.unwrap().is_empty());
}

#[tokio::test]
async fn blockers_follow_the_via_graph() {
    let pool = fresh_database().await;
    let platform =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
    // a and d are direct requirements; a pulls in b, b pulls in c.
    let requirements = "a==1.0\n    # via -r requirements/edx/kernel.in\n\
                        b==2.0\n    # via a\n\
                        c==3.0\n    # via b\n\
                        d==4.0\n    # via -r requirements/edx/kernel.in\n";
    import(&mut pool.acquire().await.unwrap(), platform, "requirements/edx/base.txt", &requirements.parse().unwrap())
        .await
        .unwrap();
    dependency(&pool, "b", vec![]).await;
    dependency(&pool, "c", vec![finding(1, "UT001"), finding(2, "UT002"), finding(3, "UT100")]).await;
    let d = dependency(&pool, "d", vec![finding(1, "UT010")]).await;
    sqlx::query(
        "UPDATE findings SET triage = 'false_positive', triage_reason = 'import-time only' WHERE target_id = $1",
    )
    .bind(d)
    .execute(&pool)
    .await
    .unwrap();

    let blockers = progress::blockers(&pool, platform).await.unwrap();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(blockers[0].package, "c");
    assert_eq!(blockers[0].version.as_deref(), Some("3.0"));
    assert_eq!(blockers[0].open, 2);
    assert_eq!(blockers[0].chain, ["a", "b", "c"]);
}

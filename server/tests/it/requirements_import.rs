//! Importing pip-compile output into PostgreSQL: pins, the `# via` graph, re-imports and
//! all-or-nothing failure.

use crate::support::fresh_database;
use sqlx::PgPool;
use unthread_server::{ingest::requirements::import, pypi::Requirements};

fn fixture_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/requirements/openedx-platform-base.txt");
    std::fs::read_to_string(path).unwrap()
}

async fn platform(pool: &PgPool) -> i64 {
    db::models::targets::upsert(pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn the_openedx_file_imports_with_its_graph() {
    let pool = fresh_database().await;
    let target = platform(&pool).await;
    let reqs: Requirements = fixture_text().parse().unwrap();
    let summary = import(&mut pool.acquire().await.unwrap(), target, "requirements/edx/base.txt", &reqs).await.unwrap();
    assert_eq!(summary.pins, 302);
    assert_eq!(summary.added.len(), 302);
    assert_eq!(count(&pool, "package_pins").await, 302);
    let direct: i64 = sqlx::query_scalar("SELECT count(*) FROM package_pins WHERE direct_url IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(direct, 2);

    let parents: Vec<String> = sqlx::query_scalar(
        "SELECT p.name FROM package_edges e
         JOIN packages p ON p.id = e.parent_package_id
         JOIN packages c ON c.id = e.child_package_id
         WHERE c.name = 'django-crum' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for expected in ["edx-django-utils", "edx-proctoring", "edx-rbac", "edx-toggles"] {
        assert!(parents.iter().any(|p| p == expected), "{expected} not in {parents:?}");
    }
    let from_files: i64 =
        sqlx::query_scalar("SELECT count(*) FROM package_edges WHERE via_file = '-r requirements/edx/kernel.in'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(from_files > 50, "kernel.in lists many direct requirements: {from_files}");
    let extras: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(pp.extras) FROM package_pins pp JOIN packages p ON p.id = pp.package_id WHERE p.name = 'xblock'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(extras, ["django"]);
}

#[tokio::test]
async fn reimport_replaces_and_reports_changes() {
    let pool = fresh_database().await;
    let target = platform(&pool).await;
    let text = fixture_text();
    import(&mut pool.acquire().await.unwrap(), target, "base.txt", &text.parse().unwrap()).await.unwrap();
    let again = import(&mut pool.acquire().await.unwrap(), target, "base.txt", &text.parse().unwrap()).await.unwrap();
    assert!(again.added.is_empty() && again.removed.is_empty() && again.changed.is_empty(), "{again:?}");
    assert_eq!(count(&pool, "package_pins").await, 302);

    let edited = text.replace("django-crum==0.7.9", "django-crum==0.7.10").replace("acid-xblock==0.4.1\n", "");
    let summary =
        import(&mut pool.acquire().await.unwrap(), target, "base.txt", &edited.parse().unwrap()).await.unwrap();
    assert_eq!(summary.changed, [("django-crum".to_owned(), "0.7.9".to_owned(), "0.7.10".to_owned())]);
    assert_eq!(summary.removed, ["acid-xblock"]);
    assert_eq!(count(&pool, "package_pins").await, 301);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'requirements.imported'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 3);
}

#[tokio::test]
async fn a_failed_import_leaves_nothing_behind() {
    let pool = fresh_database().await;
    let reqs: Requirements = fixture_text().parse().unwrap();
    // No such target: the foreign key fails after packages were inserted, and all rolls back.
    let err = import(&mut pool.acquire().await.unwrap(), 999_999, "base.txt", &reqs).await.unwrap_err();
    assert!(err.to_string().contains("foreign key"), "{err}");
    for table in ["packages", "requirement_files", "package_pins", "package_edges", "events"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    // A malformed file never reaches the database at all.
    let broken = fixture_text().replace("django-crum==0.7.9", "django-crum=>0.7.9");
    let err = broken.parse::<Requirements>().unwrap_err();
    assert!(err.to_string().starts_with("line 273:"), "{err}");
}

//! Rule UT011 end to end: a scanned dependency's thread-local APIs, stored with its scan,
//! are fed into the scan of a repository that pins it.

use crate::support::fresh_database;
use std::path::Path;

use unthread_server::{cli::ScanArgs, commands::scan, ingest::requirements::import};

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn args(path: &Path, target: &str, kind: &str) -> ScanArgs {
    ScanArgs::checkout(path, target, kind.parse().unwrap())
}

#[tokio::test]
async fn dependency_apis_feed_the_scans_of_their_dependents() {
    let pool = fresh_database().await;
    let epic = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/fixtures/epic");

    // django-crum as a dependency target: its sdist unpacks to crum/__init__.py.
    let crum = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(crum.path().join("crum")).unwrap();
    copy_tree(&epic.join("crum"), &crum.path().join("crum"));
    scan(&pool, Path::new("/nonexistent"), args(crum.path(), "django-crum", "dependency")).await.unwrap();

    // The platform pins django-crum; its scan reports the calls into crum's thread local.
    let platform =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Platform, "openedx/openedx-platform").await.unwrap();
    import(
        &mut pool.acquire().await.unwrap(),
        platform,
        "requirements/edx/base.txt",
        &"django-crum==0.7.9\n    # via -r requirements/edx/kernel.in\n".parse().unwrap(),
    )
    .await
    .unwrap();
    scan(&pool, Path::new("/nonexistent"), args(&epic.join("platform"), "openedx/openedx-platform", "platform"))
        .await
        .unwrap();

    let ut011: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT path, start_line, message FROM findings WHERE target_id = $1 AND rule = 'UT011' ORDER BY start_line",
    )
    .bind(platform)
    .fetch_all(&pool)
    .await
    .unwrap();
    // Directly (`get_current_request`) and through crum's signal (`impersonate`, `get_current_user`).
    let lines: Vec<(&str, i32)> = ut011.iter().map(|(path, line, _)| (path.as_str(), *line)).collect();
    assert_eq!(lines, [("lms/views.py", 8), ("lms/views.py", 14), ("lms/views.py", 15)], "{ut011:?}");
    assert!(ut011[0].2.contains("crum._thread_locals"), "{}", ut011[0].2);
    assert!(ut011[2].2.contains("→ signal `crum.signals.current_user_getter` →"), "{}", ut011[2].2);

    // A dependency target must be named by its normalised PyPI name.
    let err = scan(&pool, Path::new("/nonexistent"), args(crum.path(), "Django_Crum", "dependency")).await.unwrap_err();
    assert!(err.to_string().contains("normalised"), "{err}");
}

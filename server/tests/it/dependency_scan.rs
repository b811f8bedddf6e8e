//! `unthread scan --requirements` end to end against a package index served by the test
//! (PEP 691 JSON pages and wheels built here): pins are registered, each distribution is
//! downloaded once (checksum verified, cached), scanned as a dependency target in dependency
//! order so that django-crum's thread-local APIs reach edx-django-utils' scan (UT011), and a
//! package that fails is reported while the rest go on.

use crate::support::{archives::wheel, fresh_database};
use std::path::Path;

use sha2::{Digest, Sha256};
use unthread_server::{cli::ScanArgs, commands::scan};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves `/simple/<name>/` listing `filename` with `published_sha256`, and the file itself.
async fn publish(server: &MockServer, name: &str, filename: &str, bytes: Vec<u8>, published_sha256: &str) {
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": name,
        "files": [
            // A platform wheel the scanner must pass over.
            {"filename": filename.replace("py3-none-any", "cp312-cp312-win_amd64"), "url": "/files/never", "hashes": {"sha256": "00".repeat(32)}},
            {"filename": filename, "url": format!("../../files/{filename}"), "hashes": {"sha256": published_sha256}},
        ],
    });
    Mock::given(method("GET"))
        .and(path(format!("/simple/{name}/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page.to_string(), "application/vnd.pypi.simple.v1+json"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/files/{filename}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes))
        .mount(server)
        .await;
}

const REQUIREMENTS: &str = "\
bad-checksum==1.0
    # via -r requirements/base.in
django-crum==0.7.9
    # via edx-django-utils
edx-django-utils==5.0
    # via -r requirements/base.in
flaky-pkg==1.0
    # via -r requirements/base.in
missing-pkg==2.0
    # via -r requirements/base.in
xblocks-contrib @ git+https://github.com/openedx/xblocks-contrib.git@main
    # via -r requirements/base.in
";

#[tokio::test]
async fn pinned_dependencies_are_downloaded_verified_and_scanned_in_dependency_order() {
    let pool = fresh_database().await;
    let index = MockServer::start().await;
    let crum_source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scanner/tests/fixtures/epic/crum/__init__.py"),
    )
    .unwrap();
    let crum =
        wheel(&[("crum/__init__.py", &crum_source), ("django_crum-0.7.9.dist-info/METADATA", "Name: django-crum\n")]);
    publish(&index, "django-crum", "django_crum-0.7.9-py2.py3-none-any.whl", crum.clone(), &sha256(&crum)).await;
    let utils = wheel(&[
        ("edx_django_utils/__init__.py", ""),
        (
            "edx_django_utils/monitoring.py",
            "from crum import get_current_request\n\n\ndef set_custom_attribute(key, value):\n    request = get_current_request()\n    return request, key, value\n",
        ),
    ]);
    publish(&index, "edx-django-utils", "edx_django_utils-5.0-py3-none-any.whl", utils.clone(), &sha256(&utils)).await;
    let flaky = wheel(&[("flaky/__init__.py", "import threading\n\nLOCK = threading.Lock()\n")]);
    // The index fails twice before it answers: the download is retried with backoff.
    Mock::given(method("GET"))
        .and(path("/simple/flaky-pkg/"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&index)
        .await;
    publish(&index, "flaky-pkg", "flaky_pkg-1.0-py3-none-any.whl", flaky.clone(), &sha256(&flaky)).await;
    let tampered = wheel(&[("bad/__init__.py", "x = 1\n")]);
    publish(&index, "bad-checksum", "bad_checksum-1.0-py3-none-any.whl", tampered, &"ab".repeat(32)).await;

    let checkout = tempfile::tempdir().unwrap();
    let requirements = checkout.path().join("base.txt");
    std::fs::write(&requirements, REQUIREMENTS).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let args = || ScanArgs {
        path: None,
        requirements: Some(requirements.clone()),
        index_url: format!("{}/simple/", index.uri()),
        concurrency: 3,
        target: Some("openedx/openedx-platform".into()),
        kind: db::kinds::TargetKind::Platform,
        revision: None,
        exclude_tests: false,
        check_upgrades: false,
    };

    let err = scan(&pool, data_dir.path(), args()).await.unwrap_err();
    assert_eq!(err.to_string(), "could not scan 2 of the pinned dependencies (listed above)");

    // The pins and the graph are registered for the repository.
    let pins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM package_pins pp JOIN requirement_files rf ON rf.id = pp.requirement_file_id
         JOIN targets t ON t.id = rf.target_id WHERE t.name = 'openedx/openedx-platform'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(pins, 6);

    // Each downloadable pin became a dependency target linked to its package, scanned at its version.
    let scanned: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT t.name, t.kind, s.revision FROM targets t
         JOIN target_packages tp ON tp.target_id = t.id JOIN packages p ON p.id = tp.package_id AND p.name = t.name
         JOIN scans s ON s.target_id = t.id
         ORDER BY s.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        scanned,
        [
            ("django-crum".into(), "dependency".into(), "0.7.9".into()),
            ("flaky-pkg".into(), "dependency".into(), "1.0".into()),
            ("edx-django-utils".into(), "dependency".into(), "5.0".into()),
        ],
        "scanned in dependency order (edx-django-utils after django-crum), failures left out"
    );

    let findings: Vec<(String, String, String, i32)> = sqlx::query_as(
        "SELECT t.name, f.rule, f.path, f.start_line FROM findings f JOIN targets t ON t.id = f.target_id
         WHERE f.rule IN ('UT001', 'UT003', 'UT011') ORDER BY t.name, f.path, f.start_line",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(findings.contains(&("django-crum".into(), "UT001".into(), "crum/__init__.py".into(), 7)), "{findings:?}");
    assert!(
        findings.contains(&("edx-django-utils".into(), "UT011".into(), "edx_django_utils/monitoring.py".into(), 5)),
        "crum's API index fed edx-django-utils' scan: {findings:?}"
    );
    assert!(findings.contains(&("flaky-pkg".into(), "UT003".into(), "flaky/__init__.py".into(), 3)), "{findings:?}");

    // A second run reuses the verified cache: no distribution is downloaded twice.
    let _ = scan(&pool, data_dir.path(), args()).await.unwrap_err();
    let requests = index.received_requests().await.unwrap();
    let downloads = |file: &str| requests.iter().filter(|r| r.url.path() == format!("/files/{file}")).count();
    assert_eq!(downloads("django_crum-0.7.9-py2.py3-none-any.whl"), 1);
    assert_eq!(downloads("edx_django_utils-5.0-py3-none-any.whl"), 1);
    assert!(data_dir.path().join("cache/distributions/django_crum-0.7.9-py2.py3-none-any.whl").is_file());
    // The tampered file was refused each time and never kept.
    assert_eq!(downloads("bad_checksum-1.0-py3-none-any.whl"), 2);
    assert!(!data_dir.path().join("cache/distributions/bad_checksum-1.0-py3-none-any.whl").exists());
    // Nothing changed, so the rescans were recognised as no-ops.
    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await.unwrap();
    assert_eq!(scans, 3);
}

#[tokio::test]
async fn hashes_from_the_requirements_file_must_match() {
    let pool = fresh_database().await;
    let index = MockServer::start().await;
    let six = wheel(&[("six.py", "import threading\n_local = threading.local()\n")]);
    publish(&index, "six", "six-1.17.0-py3-none-any.whl", six.clone(), &sha256(&six)).await;
    let checkout = tempfile::tempdir().unwrap();
    let requirements = checkout.path().join("base.txt");
    std::fs::write(&requirements, format!("six==1.17.0 \\\n    --hash=sha256:{}\n", "cd".repeat(32))).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let args = ScanArgs {
        path: None,
        requirements: Some(requirements.clone()),
        index_url: format!("{}/simple", index.uri()),
        concurrency: 1,
        target: Some("openedx/edx-platform".into()),
        kind: db::kinds::TargetKind::Library,
        revision: None,
        exclude_tests: false,
        check_upgrades: false,
    };
    let err = scan(&pool, data_dir.path(), args).await.unwrap_err();
    assert!(err.to_string().contains("could not scan 1 of"), "{err}");
    let scans: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await.unwrap();
    assert_eq!(scans, 0, "a distribution that does not match the requirements' hash is never scanned");
}

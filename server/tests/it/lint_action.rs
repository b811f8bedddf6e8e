//! The GitHub Action's scan step (`action/scan.sh`), run as a runner runs it — the runner's
//! environment faked (GITHUB_OUTPUT, RUNNER_TEMP, the event), the Unthread server real (this
//! crate's router on a local port, against PostgreSQL): the baseline comes from the server,
//! only new findings are annotated and fail the job, and a push's scan is uploaded.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
};

use crate::support::{fresh_database, TestApp};

/// `target/debug/unthread-scan`, built by the workspace's test run (the scanner's own CLI
/// tests need it); built here when this crate's tests run alone.
fn unthread_scan() -> PathBuf {
    let profile_dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_owned();
    let binary = profile_dir.join("unthread-scan");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo).args(["build", "-p", "scanner", "--bin", "unthread-scan"]).status().unwrap();
        assert!(status.success(), "building unthread-scan");
    }
    binary
}

/// A job's workspace and runner directories.
struct Runner {
    workspace: tempfile::TempDir,
    temp: tempfile::TempDir,
}

/// What the step did.
struct Step {
    code: i32,
    stdout: String,
    outputs: HashMap<String, String>,
    summary: String,
}

impl Runner {
    fn new() -> Self {
        Runner { workspace: tempfile::tempdir().unwrap(), temp: tempfile::tempdir().unwrap() }
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.workspace.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Runs the step (off the runtime, which serves the app meanwhile) with `inputs` as
    /// the action passes them, for an `event`.
    async fn step(&self, inputs: &[(&str, &str)], event: &str) -> Step {
        let inputs: Vec<(String, String)> = inputs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        let (workspace, temp, event) =
            (self.workspace.path().to_owned(), self.temp.path().to_owned(), event.to_owned());
        tokio::task::spawn_blocking(move || run_step(&workspace, &temp, &inputs, &event)).await.unwrap()
    }
}

fn run_step(workspace: &Path, temp: &Path, inputs: &[(String, String)], event: &str) -> Step {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../action/scan.sh");
    let bin_dir = unthread_scan().parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let (output_file, summary_file) = (temp.join("output"), temp.join("summary"));
    std::fs::write(&output_file, "").unwrap();
    std::fs::write(&summary_file, "").unwrap();
    let mut command = Command::new("bash");
    command
        .arg(script)
        .current_dir(workspace)
        .env_clear()
        .env("PATH", path)
        .env("HOME", temp)
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_SHA", SHA);
    for (name, value) in inputs {
        command.env(format!("UNTHREAD_{name}"), value);
    }
    let output = command.output().unwrap();
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Step {
        code: output.status.code().unwrap(),
        stdout: format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        outputs,
        summary: std::fs::read_to_string(&summary_file).unwrap(),
    }
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// Serves the app on a local port, as `unthread serve` does.
async fn serve(pool: &sqlx::PgPool) -> String {
    let app = TestApp::new(pool).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    format!("http://{address}")
}

const KNOWN: &str = "import threading\n_state = threading.local()\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_fails_only_on_findings_the_server_does_not_know_and_uploads_pushes() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/gated").await.unwrap();
    let maintainer: i64 =
        sqlx::query_scalar("INSERT INTO users (login, role) VALUES ('mona', 'maintainer') RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (_, token) =
        unthread_server::auth::tokens::create(&pool, "ci", &["openedx/gated".into()], maintainer).await.unwrap();
    let server = serve(&pool).await;
    let runner = Runner::new();
    runner.write("pkg/state.py", KNOWN);
    let inputs = [("SERVER_URL", server.as_str()), ("TOKEN", token.as_str()), ("TARGET", "openedx/gated")];

    // The first push: nothing known yet, so the finding is new; the scan is recorded.
    let first = runner.step(&inputs, "push").await;
    assert_eq!(first.code, 1, "{}", first.stdout);
    assert!(first.stdout.contains("::error file=pkg/state.py,line=2,"), "{}", first.stdout);
    assert_eq!(first.outputs["new-findings"], "1");
    let first_log = std::fs::read_to_string(PathBuf::from(&first.outputs["sarif-file"])).unwrap();
    let log: serde_json::Value = serde_json::from_str(&first_log).unwrap();
    assert_eq!(log["runs"][0]["results"][0]["baselineState"], "new");
    assert!(first.summary.contains("UT001") && first.summary.contains("total"), "{}", first.summary);
    let scans: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT revision FROM scans WHERE target_id = $1").bind(target).fetch_all(&pool).await.unwrap();
    assert_eq!(scans, [(Some(SHA.to_owned()),)], "the push was uploaded");

    // A pull request adding one finding: only it is annotated and fails the job; nothing is uploaded.
    runner.write("pkg/lock.py", "import threading\n_lock = threading.Lock()\n");
    let pull = runner.step(&inputs, "pull_request").await;
    assert_eq!(pull.code, 1, "{}", pull.stdout);
    let annotations: Vec<&str> =
        pull.stdout.lines().filter(|l| l.starts_with("::warning") || l.starts_with("::error file")).collect();
    assert_eq!(annotations.len(), 1, "{}", pull.stdout);
    assert!(annotations[0].contains("file=pkg/lock.py"), "{}", pull.stdout);
    assert!(pull.stdout.contains("not uploading the scan of a pull_request event"), "{}", pull.stdout);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM scans").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 1);

    // The same pull request with the finding reviewed and suppressed passes.
    runner.write(
        "pkg/lock.py",
        "import threading\n_lock = threading.Lock()  # unthread: ignore[UT003] -- guards start-up only\n",
    );
    let reviewed = runner.step(&inputs, "pull_request").await;
    assert_eq!(reviewed.code, 0, "{}", reviewed.stdout);
    assert_eq!(reviewed.outputs["new-findings"], "0");
    // Merged and pushed: the upload API records the suppressed finding as triaged won't fix.
    let merged = runner.step(&inputs, "push").await;
    assert_eq!(merged.code, 0, "{}", merged.stdout);
    let triage: (String, Option<String>) =
        sqlx::query_as("SELECT triage, triage_reason FROM findings WHERE path = 'pkg/lock.py'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(triage, ("wont_fix".into(), Some("guards start-up only".into())));

    // Without a server: a baseline file of the repository; `fail-on-new: false` only reports.
    let offline = Runner::new();
    offline.write("pkg/state.py", KNOWN);
    offline.write("baseline.sarif", &first_log);
    offline.write("pkg/more.py", "import threading\n_event = threading.Event()\n");
    let report_only = offline.step(&[("BASELINE", "baseline.sarif"), ("FAIL_ON_NEW", "false")], "push").await;
    assert_eq!(report_only.code, 0, "{}", report_only.stdout);
    assert_eq!(report_only.outputs["new-findings"], "1");
    // A configuration error fails the step with the scanner's status.
    let broken = offline.step(&[("ARGS", "--select UT999")], "push").await;
    assert_eq!(broken.code, 2, "{}", broken.stdout);

    // The server down: a warning says so and the configuration's baseline decides.
    offline.write("unthread.toml", "baseline = \"baseline.sarif\"\n");
    let down = [("SERVER_URL", "http://127.0.0.1:9"), ("TOKEN", token.as_str()), ("TARGET", "openedx/gated")];
    let fallback = offline.step(&down, "pull_request").await;
    assert!(
        fallback.stdout.contains("::warning title=unthread-scan::the baseline could not be fetched"),
        "{}",
        fallback.stdout
    );
    assert_eq!(fallback.outputs["new-findings"], "1", "only pkg/more.py is new: {}", fallback.stdout);
    assert!(!fallback.stdout.contains(&token), "the token is never printed");

    // Multi-line inputs: a path with a space, arguments split as a shell would.
    offline.write("my pkg/spaced.py", "import threading\n_lock = threading.Lock()\n");
    let spaced = offline
        .step(&[("PATHS", "my pkg\npkg\n"), ("ARGS", "--select UT003\n--exclude \"pkg/*\"")], "pull_request")
        .await;
    assert!(spaced.stdout.contains("file=my pkg/spaced.py,"), "{}", spaced.stdout);
    assert!(!spaced.stdout.contains("file=pkg/"), "{}", spaced.stdout);
}

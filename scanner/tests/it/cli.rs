//! `unthread-scan` as a linter, run as CI and pre-commit run it: exit status, configuration
//! files, suppressions, baseline, `--diff-base`, output formats and `rule`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

/// A throw-away project directory.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

/// What a run printed, and its exit status.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

const LOCAL: &str = "import threading\n_state = threading.local()\n";

impl Project {
    pub fn new() -> Self {
        Project { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, text: &str) -> &Self {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_unthread-scan"))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("unthread-scan runs");
        Run {
            code: output.status.code().expect("exited"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    }
}

impl Run {
    /// The rule ids of the concise lines printed.
    fn rules(&self) -> Vec<String> {
        self.stdout.lines().filter_map(|line| line.split(": ").nth(1)?.split(' ').next().map(str::to_owned)).collect()
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

pub(crate) fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run npm ci", path.display()));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn exit_status_is_0_when_clean_1_with_findings_2_on_errors() {
    let project = Project::new();
    project.write("pkg/clean.py", "x = 1\n");
    let clean = project.run(&[]);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""), "{}", clean.stderr);

    project.write("pkg/state.py", LOCAL);
    let found = project.run(&[]);
    assert_eq!(found.code, 1);
    assert_eq!(
        found.lines(),
        [
            "pkg/state.py:2:10: UT001 `threading.local()` keeps per-thread state, which leaks between requests under ASGI",
            "(1 hidden fixes can be enabled with the `--unsafe-fixes` option.)"
        ]
    );
    assert_eq!(project.run(&["--exit-zero"]).code, 0);
    assert_eq!(project.run(&["--no-such-flag"]).code, 2);
    assert_eq!(project.run(&["missing-dir"]).code, 2);
    let bad_select = project.run(&["--select", "UT9"]);
    assert_eq!(bad_select.code, 2);
    assert!(bad_select.stderr.contains("--select") && bad_select.stderr.contains("UT9"), "{}", bad_select.stderr);
}

#[test]
fn suppressed_findings_pass_and_stay_in_sarif_with_their_reason() {
    let project = Project::new();
    project.write(
        "pkg/state.py",
        "import threading\n_a = threading.local()  # noqa: UT001\n_b = threading.local()  # unthread: ignore[UT001] -- read-only after start\n_c = dict(\n    x=threading.local(),\n)  # noqa\n",
    );
    let run = project.run(&[]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);

    let sarif: Value = serde_json::from_str(&project.run(&["--format", "sarif"]).stdout).unwrap();
    let errors: Vec<String> =
        sarif_validator().iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "suppressed results are kept");
    assert!(results.iter().all(|r| r["suppressions"][0]["kind"] == "inSource"));
    assert_eq!(results[1]["suppressions"][0]["justification"], "read-only after start");
    assert_eq!(results[0]["suppressions"][0]["justification"], "suppressed in the source by `# noqa` on line 2");
}

#[test]
fn unknown_and_unused_suppressions_are_reported() {
    let project = Project::new();
    project.write("pkg/a.py", "import threading\n_a = threading.local()  # noqa: UT001, UT998\nx = 1  # noqa: UT003\n");
    let run = project.run(&[]);
    assert_eq!(run.code, 0, "an unknown id is only a warning");
    assert!(run.stderr.contains("pkg/a.py:2: unknown rule `UT998`"), "{}", run.stderr);
    assert!(!run.stderr.contains("unused"), "{}", run.stderr);
    let strict = project.run(&["--report-unused-suppressions"]);
    assert_eq!(strict.code, 1);
    assert!(strict.stderr.contains("pkg/a.py:3: unused suppression: UT003"), "{}", strict.stderr);
}

#[test]
fn configuration_is_found_upward_and_the_command_line_overrides_it() {
    let project = Project::new();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"demo\"\n\n[tool.unthread]\nselect = [\"UT003\"]\nexclude = [\"vendor/\"]\n",
    );
    project.write("pkg/state.py", "import threading\n_state = threading.local()\n_lock = threading.Lock()\n");
    project.write("vendor/lib.py", "import threading\n_lock = threading.Lock()\n");
    let run = project.run(&["pkg"]);
    assert_eq!(run.rules(), ["UT003"], "{}", run.stdout);
    assert_eq!(project.run(&[]).rules(), ["UT003"], "vendor/ is excluded");
    assert_eq!(project.run(&["--select", "UT001"]).rules(), ["UT001"]);
    assert_eq!(project.run(&["--isolated", "pkg"]).rules(), ["UT001", "UT003"]);
    assert_eq!(project.run(&["--isolated"]).rules().len(), 3);

    project.write("other.toml", "ignore = [\"UT003\"]\n");
    assert_eq!(project.run(&["--config", "other.toml", "pkg"]).rules(), ["UT001"]);
    // A closer unthread.toml wins over the pyproject above it.
    project.write("pkg/unthread.toml", "per-file-ignores = { \"state.py\" = [\"UT003\"] }\n");
    assert_eq!(project.run(&["pkg"]).rules(), ["UT001"]);
}

#[test]
fn bad_configuration_is_exit_2_naming_the_file_line_and_key() {
    let cases = [
        (
            "pyproject.toml",
            "[tool.unthread]\nselect = [\"UT001\"]\nexlude = [\"x\"]\n",
            vec!["pyproject.toml", "line 3", "exlude"],
        ),
        ("unthread.toml", "select = [\"UT001\", \"UT777\"]\n", vec!["unthread.toml:1:", "`select`", "UT777"]),
        ("unthread.toml", "include-tests = \"yes\"\n", vec!["unthread.toml", "line 1"]),
        ("unthread.toml", "[broken\n", vec!["unthread.toml", "TOML parse error"]),
    ];
    for (name, text, expected) in cases {
        let project = Project::new();
        project.write(name, text).write("a.py", LOCAL);
        let run = project.run(&[]);
        assert_eq!(run.code, 2, "{text}: {}", run.stderr);
        for part in expected {
            assert!(run.stderr.contains(part), "{text}: `{part}` missing in {}", run.stderr);
        }
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn a_baseline_reports_only_new_findings_and_follows_renamed_files() {
    let project = Project::new();
    project.write("pkg/state.py", LOCAL);
    let written = project.run(&["--write-baseline", "baseline.sarif"]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let unchanged = project.run(&["--baseline", "baseline.sarif"]);
    assert_eq!((unchanged.code, unchanged.stdout.as_str()), (0, ""));

    project.write(
        "pkg/state.py",
        "import threading\n\n# moved down\n_state = threading.local()\n_lock = threading.Lock()\n",
    );
    let one_new = project.run(&["--baseline", "baseline.sarif"]);
    assert_eq!(one_new.code, 1);
    assert_eq!(one_new.rules(), ["UT003"], "only the new finding: {}", one_new.stdout);

    std::fs::rename(project.path().join("pkg"), project.path().join("renamed")).unwrap();
    std::fs::write(project.path().join("renamed/state.py"), LOCAL).unwrap();
    let renamed = project.run(&["--baseline", "baseline.sarif"]);
    assert_eq!((renamed.code, renamed.stdout.as_str()), (0, ""), "found by its content fingerprint");

    // From the configuration file, relative to it; SARIF says which results are new.
    project.write("unthread.toml", "baseline = \"baseline.sarif\"\n");
    project.write("renamed/more.py", "import threading\n_lock = threading.Lock()\n");
    let sarif: Value = serde_json::from_str(&project.run(&["--format", "sarif"]).stdout).unwrap();
    let states: Vec<&str> =
        sarif["runs"][0]["results"].as_array().unwrap().iter().map(|r| r["baselineState"].as_str().unwrap()).collect();
    assert_eq!(states, ["new", "unchanged"]);
    assert!(sarif_validator().is_valid(&sarif));

    let missing = project.run(&["--baseline", "nope.sarif"]);
    assert_eq!(missing.code, 2);
    project.write("not-sarif.json", "[1, 2]");
    assert_eq!(project.run(&["--baseline", "not-sarif.json"]).code, 2);
}

#[test]
fn diff_base_reports_only_findings_on_changed_lines() {
    let project = Project::new();
    project.write("pkg/old.py", LOCAL).write("pkg/touched.py", "import threading\n_lock = threading.Lock()\n");
    project.git(&["init", "-q"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "base"]);
    project.write("pkg/touched.py", "import threading\n_lock = threading.Lock()\n_state = threading.local()\n");
    project.write("pkg/new.py", "import threading\n_e = threading.Event()\n");
    let run = project.run(&["--diff-base", "HEAD"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.rules().len(), 2, "{}", run.stdout);
    assert!(run.stdout.contains("pkg/new.py:2:") && run.stdout.contains("pkg/touched.py:3:"), "{}", run.stdout);
    let summary = project.run(&["--diff-base", "HEAD", "--format", "summary"]);
    assert!(summary.stdout.contains("2 on lines not changed since the diff base"), "{}", summary.stdout);

    // A subdirectory scan names repository paths; a bad ref is a usage error.
    let sub = project.run(&["pkg", "--diff-base", "HEAD"]);
    assert!(sub.stdout.contains("pkg/touched.py:3:") && !sub.stdout.contains("pkg/old.py"), "{}", sub.stdout);
    let bad = project.run(&["--diff-base", "no-such-ref"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("no-such-ref"), "{}", bad.stderr);
}

#[test]
fn files_named_one_by_one_keep_the_paths_and_fingerprints_of_a_tree_scan() {
    let project = Project::new();
    project.write("pkg/a.py", LOCAL).write("pkg/b.py", "import threading\n_l = threading.Lock()\n");
    let tree: Value = serde_json::from_str(&project.run(&["--format", "sarif"]).stdout).unwrap();
    let files: Value =
        serde_json::from_str(&project.run(&["pkg/b.py", "pkg/a.py", "--format", "sarif"]).stdout).unwrap();
    let fingerprints = |log: &Value| -> Vec<String> {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["unthread/v1"].to_string())
            .collect()
    };
    assert_eq!(fingerprints(&files), fingerprints(&tree));
    assert_eq!(
        files["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "pkg/a.py"
    );
    let mixed = project.run(&["pkg", "pkg/a.py"]);
    assert_eq!(mixed.code, 1, "a directory among files: {}", mixed.stderr);
    assert_eq!(mixed.rules().len(), 2, "each finding once: {}", mixed.stdout);
}

/// A subfolder scan names repository paths (as ruff does), several paths are one scan, and
/// SARIF says what its paths are relative to.
#[test]
fn subfolder_scans_report_paths_relative_to_the_working_directory() {
    let project = Project::new();
    project
        .write("xblock/__init__.py", "")
        .write("xblock/plugin.py", LOCAL)
        .write("web_fragments/fragment.py", "import threading\n_lock = threading.Lock()\n")
        .write("other/ignored.py", LOCAL);
    let one = project.run(&["xblock"]);
    assert_eq!(one.code, 1, "{}", one.stderr);
    assert!(one.stdout.starts_with("xblock/plugin.py:2:"), "{}", one.stdout);
    let github = project.run(&["xblock", "--format", "github"]);
    assert!(github.stdout.contains("file=xblock/plugin.py,"), "{}", github.stdout);
    let two = project.run(&["xblock", "web_fragments"]);
    let paths: Vec<&str> =
        two.lines().iter().filter(|l| l.contains(".py:")).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(paths, ["web_fragments/fragment.py", "xblock/plugin.py"], "{}", two.stderr);
    // The same fingerprints as a scan of the whole tree.
    let whole: Value = serde_json::from_str(&project.run(&["--format", "sarif"]).stdout).unwrap();
    let part: Value = serde_json::from_str(&project.run(&["xblock", "--format", "sarif"]).stdout).unwrap();
    let fingerprint_of = |log: &Value, path: &str| {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path)
            .map(|r| r["partialFingerprints"]["unthread/v1"].clone())
    };
    assert_eq!(fingerprint_of(&part, "xblock/plugin.py"), fingerprint_of(&whole, "xblock/plugin.py"));
    assert!(fingerprint_of(&part, "xblock/plugin.py").is_some());
    let location = &part["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    let base = part["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap();
    assert!(base.starts_with("file:///") && base.ends_with('/'), "{base}");
    let root = std::fs::canonicalize(project.path()).unwrap();
    assert!(base.trim_end_matches('/').ends_with(root.file_name().unwrap().to_str().unwrap()), "{base}");
    assert!(sarif_validator().is_valid(&part), "a valid SARIF 2.1.0 log");
}

#[test]
fn github_format_escapes_paths_and_messages() {
    let project = Project::new();
    project.write("odd,name:100%.py", LOCAL);
    let run = project.run(&["--format", "github"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.lines(),
        ["::error file=odd%2Cname%3A100%25.py,line=2,col=10,endLine=2,endColumn=27,title=UT001::`threading.local()` keeps per-thread state, which leaks between requests under ASGI"]
    );
}

#[test]
fn gitlab_format_follows_the_code_quality_schema() {
    let project = Project::new();
    project.write("pkg/a.py", "import threading\n_s = threading.local()\n_l = threading.Lock()\n_m = {}\n");
    let run = project.run(&["--format", "gitlab"]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab-code-quality.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let issues = report.as_array().unwrap();
    assert!(issues.len() >= 2);
    assert_eq!(issues[0]["check_name"], "UT001");
    assert_eq!(issues[0]["severity"], "major");
    assert_eq!(issues[0]["location"]["lines"]["begin"], 2);
    let clean = Project::new();
    clean.write("a.py", "x = 1\n");
    assert_eq!(clean.run(&["--format", "gitlab"]).stdout.trim(), "[]", "an empty report is an empty array");
    // Schema check can fail.
    assert!(!validator.is_valid(&serde_json::json!([{ "description": "x", "check_name": "UT001", "fingerprint": "f", "severity": "fatal", "location": { "path": "a", "lines": { "begin": 1 } } }])));
}

#[test]
fn rule_prints_a_rules_documentation() {
    let project = Project::new();
    let run = project.run(&["rule", "UT001"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("# thread-local-instance (UT001)"), "{}", run.stdout);
    assert!(run.stdout.contains("## Fix"));
    assert_eq!(project.run(&["rule", "thread-lock"]).code, 0);
    let list = project.run(&["rule"]);
    assert_eq!(list.lines().len(), scanner::catalogue().count());
    let unknown = project.run(&["rule", "UT999"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("UT999"));
}

/// openedx-platform#38740's gate must not block the fix: a change that only adds a context
/// variable reports UT100 (a note) and passes, with or without `--diff-base`.
#[test]
fn a_context_variable_is_reported_but_never_fails_the_gate() {
    let project = Project::new();
    project.write("pkg/old.py", "x = 1\n");
    project.git(&["init", "-q"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "base"]);
    project.write(
        "pkg/state.py",
        "from contextvars import ContextVar\n_user: ContextVar = ContextVar(\"user\", default=None)\n",
    );
    for args in [&[][..], &["--diff-base", "HEAD"][..]] {
        let run = project.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("UT100"), "still reported: {}", run.stdout);
    }
    let github = project.run(&["--format", "github"]);
    assert_eq!(github.code, 0);
    assert!(github.stdout.starts_with("::notice "), "{}", github.stdout);
}

/// A baselined line copied into other files is new there (the baseline matches per file, each
/// entry once); the same finding in a renamed file is still known.
#[test]
fn baselined_lines_copied_elsewhere_are_new_and_renamed_files_stay_known() {
    let project = Project::new();
    project.write("pkg/a.py", LOCAL);
    assert_eq!(project.run(&["--write-baseline", "baseline.sarif"]).code, 0);
    project.write("pkg/b.py", LOCAL).write("pkg/c.py", LOCAL);
    let run = project.run(&["--baseline", "baseline.sarif"]);
    assert_eq!(run.code, 1);
    let mut paths: Vec<&str> =
        run.stdout.lines().filter(|l| l.contains(": UT001")).map(|l| l.split(':').next().unwrap()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["pkg/b.py", "pkg/c.py"], "{}", run.stdout);
    // Two copies in one new file are two new findings.
    std::fs::remove_file(project.path().join("pkg/c.py")).unwrap();
    project.write("pkg/b.py", "import threading\n_state = threading.local()\n_other = threading.local()\n");
    assert_eq!(project.run(&["--baseline", "baseline.sarif"]).rules(), ["UT001", "UT001"]);
    // The original file renamed: its finding is found by content.
    std::fs::remove_file(project.path().join("pkg/b.py")).unwrap();
    std::fs::rename(project.path().join("pkg/a.py"), project.path().join("pkg/moved.py")).unwrap();
    let moved = project.run(&["--baseline", "baseline.sarif"]);
    assert_eq!((moved.code, moved.rules().len()), (0, 0), "{}", moved.stdout);
}

/// `--diff-base`: a finding reported at one place changes when any of its places does — a
/// pull request adding a request-time write to an old global is caught.
#[test]
fn a_new_write_to_an_old_global_fails_the_diff_gate() {
    let project = Project::new();
    project.write("pkg/users.py", "_USERS = {}\n\n\ndef count():\n    return len(_USERS)\n");
    project.git(&["init", "-q"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "base"]);
    assert_eq!(project.run(&["--diff-base", "HEAD"]).code, 0, "nothing changed");
    project.write(
        "pkg/users.py",
        "_USERS = {}\n\n\ndef count():\n    return len(_USERS)\n\n\ndef remember(request):\n    _USERS[request.id] = request.user\n",
    );
    let run = project.run(&["--diff-base", "HEAD"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("pkg/users.py:1:1: UT010"), "reported at the definition: {}", run.stdout);
    let log: Value = serde_json::from_str(&project.run(&["--format", "sarif"]).stdout).unwrap();
    let related = &log["runs"][0]["results"][0]["relatedLocations"][0]["physicalLocation"];
    assert_eq!(related["region"]["startLine"], 9, "the write: {log}");
    assert!(sarif_validator().is_valid(&log));
}

#[test]
fn quiet_statistics_settings_and_files_say_what_they_promise() {
    let project = Project::new();
    project
        .write("pkg/a.py", "import threading\n_s = threading.local()\n_l = threading.Lock()\n_m = threading.Lock()\n")
        .write("pkg/tests/test_a.py", LOCAL);
    let statistics = project.run(&["--statistics"]);
    assert_eq!(statistics.code, 1);
    let rows: Vec<Vec<&str>> = statistics.stdout.lines().map(|l| l.split('\t').map(str::trim).collect()).collect();
    assert_eq!(rows[0][..2], ["2", "UT003"], "{}", statistics.stdout);
    assert_eq!(rows[1][..2], ["1", "UT001"], "{}", statistics.stdout);
    let quiet = project.run(&["-q"]);
    assert_eq!(quiet.stdout.lines().count(), 3, "the findings only: {}", quiet.stdout);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    let settings = project.run(&["--show-settings", "--include-tests"]);
    assert_eq!(settings.code, 0);
    assert!(settings.stdout.contains("include-tests        true"), "{}", settings.stdout);
    assert!(settings.stdout.contains("configuration        none (defaults)"), "{}", settings.stdout);
    // Tests are out of scope by default; the file list says which files a run reads.
    assert_eq!(project.run(&["--show-files"]).stdout, "pkg/a.py\n");
    assert_eq!(project.run(&["--show-files", "--include-tests"]).stdout, "pkg/a.py\npkg/tests/test_a.py\n");
}

/// The bundled index of the Django ecosystem's thread-local APIs: calls of crum's API are
/// found with no index built by hand, unless the project is crum itself or asks not to.
#[test]
fn the_bundled_api_index_finds_crum_calls_out_of_the_box() {
    let project = Project::new();
    project.write(
        "enterprise/api.py",
        "from crum import get_current_request\n\n\ndef who():\n    return get_current_request().user\n",
    );
    let run = project.run(&["--select", "UT011"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("enterprise/api.py:5:") && run.stdout.contains("crum.get_current_request"),
        "{}",
        run.stdout
    );
    assert_eq!(project.run(&["--select", "UT011", "--no-bundled-index"]).code, 0);
    let settings = project.run(&["--show-settings"]).stdout;
    assert!(settings.contains("bundled index") && settings.contains("django-crum"), "{settings}");
    // crum's own checkout: its calls of its own functions are no dependency's API.
    let crum = Project::new();
    crum.write(
        "crum/__init__.py",
        "def get_current_request():\n    return None\n\n\ndef user():\n    return get_current_request()\n",
    );
    assert_eq!(crum.run(&["--select", "UT011"]).code, 0, "{}", crum.run(&["--select", "UT011"]).stdout);
}

/// UT013 needs the call graph: a plain lint run does not compute it and does not run the
/// rule; `--runs-at` runs it and reports the writes made while a request is served, not those
/// made at start-up or whose time nothing in the project tells; `--preview` shows those too.
#[test]
fn shared_object_writes_are_reported_at_request_time_with_runs_at() {
    let project = Project::new();
    project.write("app/__init__.py", "");
    project.write(
        "app/views.py",
        "from django.http import HttpResponse\n\nclass Seen:\n    last = None\n\n\
         def remember(user):\n    Seen.last = user\n\ndef profile(request):\n    remember(request.user)\n    return HttpResponse()\n",
    );
    project.write(
        "app/registry.py",
        "class Registry:\n    items = {}\n\ndef register(name):\n    Registry.items = {name: 1}\n\nregister('x')\n",
    );
    project.write("app/helpers.py", "class Last:\n    value = None\n\ndef keep(value):\n    Last.value = value\n");
    let ut013 = |args: &[&str]| -> Vec<String> {
        let run = project.run(&[args, &["--format", "concise", "--exit-zero", "-q"][..]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .filter(|line| line.contains("UT013"))
            .map(|line| line.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert!(ut013(&[]).is_empty(), "no call graph, no UT013");
    assert_eq!(ut013(&["--runs-at"]), ["app/views.py"], "the view's helper; not the import-time registry");
    assert_eq!(ut013(&["--runs-at", "--ignore", "UT013"]), Vec::<String>::new());
    assert_eq!(ut013(&["--preview"]), ["app/helpers.py", "app/views.py"], "and the helper nothing calls");
    assert_eq!(ut013(&["--select", "UT013"]), ["app/views.py"], "selected by its id, the call graph runs for it");
}

/// The scanned package's own API index is computed only where the output shows it
/// (`--write-api-index`, the summary): a lint run's findings are the same without it, and a
/// cached run that left it out does not answer a later run asking for it.
#[test]
fn the_packages_api_index_is_computed_where_the_output_shows_it() {
    let project = Project::new();
    project
        .write("pkg/__init__.py", "")
        .write("pkg/state.py", LOCAL)
        // No rule reports here: only the search for modules naming a holder parses it.
        .write("pkg/user.py", "from pkg.state import _state\n\n\ndef current():\n    return _state.user\n");
    let index_names_user = |path: &Path| {
        let index: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        index.to_string().contains("pkg.user.current")
    };
    let sarif = |run: &Run, path: &str| {
        assert_eq!(run.code, 1, "{}", run.stderr);
        let mut log: Value =
            serde_json::from_str(&std::fs::read_to_string(project.path().join(path)).unwrap()).unwrap();
        log["runs"][0]["invocations"] = Value::Null;
        log
    };
    let plain = project.run(&["--format", "sarif", "-o", "plain.sarif"]);
    let indexed = project.run(&["--format", "sarif", "-o", "indexed.sarif", "--write-api-index", "index.json"]);
    assert_eq!(sarif(&plain, "plain.sarif"), sarif(&indexed, "indexed.sarif"));
    assert!(index_names_user(&project.path().join("index.json")));
    let summary = project.run(&["--format", "summary"]).stdout;
    assert!(summary.contains("; 1 thread-local APIs found"), "{summary}");

    let cache = project.path().join(".cache");
    let cache = cache.to_str().unwrap();
    project.run(&["--cache", cache, "-q"]);
    std::thread::sleep(std::time::Duration::from_millis(2100)); // past the cache's settling time
    project.run(&["--cache", cache, "-q"]);
    project.run(&["--cache", cache, "-q", "--write-api-index", "cached.json"]);
    assert!(index_names_user(&project.path().join("cached.json")), "the cached report had no index");
}

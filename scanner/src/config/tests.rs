use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn settings(file: Option<&ConfigFile>, cli: &Overrides, root: &Path) -> Settings {
    Settings::resolve(file, cli, root, root).unwrap()
}

#[test]
fn the_closest_file_wins_and_pyprojects_without_our_table_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path();
    write(top, "pyproject.toml", "[tool.unthread]\nselect = [\"UT001\"]\n");
    write(top, "pkg/pyproject.toml", "[project]\nname = \"pkg\"\n[tool.ruff]\nline-length = 100\n");
    write(top, "pkg/sub/x.py", "");
    let found = ConfigFile::discover(&top.join("pkg/sub/x.py")).unwrap().unwrap();
    assert_eq!(found.path, absolute(top).join("pyproject.toml"));

    write(top, "pkg/unthread.toml", "select = [\"UT003\"]\n");
    let found = ConfigFile::discover(&top.join("pkg/sub")).unwrap().unwrap();
    assert!(found.path.ends_with("pkg/unthread.toml"));
    write(top, "pkg/.unthread.toml", "select = [\"UT005\"]\n");
    let found = ConfigFile::discover(&top.join("pkg")).unwrap().unwrap();
    assert!(found.path.ends_with("pkg/.unthread.toml"), "the hidden name comes first, as ruff's .ruff.toml");

    let empty = tempfile::tempdir().unwrap();
    assert!(ConfigFile::discover(empty.path()).unwrap().is_none_or(|f| !f.path.starts_with(empty.path())));
}

#[test]
fn every_key_is_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "unthread.toml",
        r#"select = ["UT00"]
extend-select = ["UT010"]
ignore = ["UT003"]
exclude = ["legacy/"]
extend-exclude = ["*_pb2.py"]
per-file-ignores = { "settings/*.py" = ["UT010"] }
include-tests = false
max-file-size = 1000
api-index = ["deps/edx-django-utils.json"]
baseline = "baseline.sarif"
"#,
    );
    let file = ConfigFile::load(&dir.path().join("unthread.toml")).unwrap();
    let s = settings(Some(&file), &Overrides::default(), dir.path());
    assert!(s.selection.enables("UT001") && s.selection.enables("UT010"));
    assert!(!s.selection.enables("UT003") && !s.selection.enables("UT011"));
    let exclude = s.exclude.as_ref().unwrap();
    assert!(exclude.excludes("legacy/a.py", false) && exclude.excludes("api/x_pb2.py", false));
    assert!(!exclude.excludes("core.py", false));
    assert!(s.per_file_ignores.ignores("settings/prod.py", "UT010"));
    assert!(!s.per_file_ignores.ignores("settings/prod.py", "UT001"));
    assert!(!s.per_file_ignores.ignores("app/prod.py", "UT010"));
    assert!(!s.include_tests);
    assert_eq!(s.max_file_size, 1000);
    let base = absolute(dir.path());
    assert_eq!(s.api_indexes, [base.join("deps/edx-django-utils.json")], "relative to the file's directory");
    assert_eq!(s.baseline, Some(base.join("baseline.sarif")));
}

#[test]
fn the_command_line_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.unthread]\nselect = [\"UT001\"]\nexclude = [\"a/\"]\nextend-exclude = [\"b/\"]\ninclude-tests = false\nmax-file-size = 10\nbaseline = \"old.sarif\"\n",
    );
    let file = ConfigFile::load(&dir.path().join("pyproject.toml")).unwrap();
    let cli = Overrides {
        select: Some(vec!["UT003".into()]),
        extend_select: vec!["UT005".into()],
        exclude: Some(vec!["c/".into()]),
        include_tests: Some(true),
        max_file_size: Some(20),
        baseline: Some("new.sarif".into()),
        ..Default::default()
    };
    let s = settings(Some(&file), &cli, dir.path());
    assert!(s.selection.enables("UT003") && s.selection.enables("UT005") && !s.selection.enables("UT001"));
    let exclude = s.exclude.as_ref().unwrap();
    assert!(!exclude.excludes("a/x.py", false), "--exclude replaces the file's exclude");
    assert!(exclude.excludes("b/x.py", false), "…but not its extend-exclude");
    assert!(exclude.excludes("c/x.py", false));
    assert!(s.include_tests);
    assert_eq!(s.max_file_size, 20);
    assert_eq!(s.baseline.as_deref(), Some(Path::new("new.sarif")));

    let ignore = Overrides { ignore: vec!["UT001".into()], ..Default::default() };
    assert!(!settings(Some(&file), &ignore, dir.path()).selection.enables("UT001"));
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(None, &Overrides::default(), dir.path());
    assert!(s.selection.is_everything());
    assert!(s.exclude.is_none() && s.per_file_ignores.is_empty());
    assert!(!s.include_tests, "tests are out of scope by default");
    assert_eq!(s.max_file_size, DEFAULT_MAX_FILE_SIZE);
}

/// The error for a configuration file holding `text`.
fn error_of(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, text);
    let path = dir.path().join(name);
    let result = ConfigFile::load(&path)
        .and_then(|file| Settings::resolve(Some(&file), &Overrides::default(), dir.path(), dir.path()).map(drop));
    let err = result.expect_err(text).to_string();
    assert!(err.starts_with(&path.display().to_string()), "names the file: {err}");
    err
}

#[test]
fn bad_files_are_errors_naming_the_file_line_and_key() {
    let err = error_of("unthread.toml", "select = [\"UT001\"]\nselct = [\"UT003\"]\n");
    assert!(err.contains("line 2") && err.contains("selct"), "{err}");
    let err = error_of("pyproject.toml", "[tool.unthread]\nignore = [\"UT001\"]\nbaseline_file = \"x\"\n");
    assert!(err.contains("line 3") && err.contains("baseline_file"), "{err}");
    let err = error_of("unthread.toml", "select = [\n  \"UT001\",\n  \"UT999\",\n]\n");
    assert!(err.contains(":3:3:") && err.contains("`select`") && err.contains("UT999"), "{err}");
    let err = error_of("unthread.toml", "select = \"UT001\"\n");
    assert!(err.contains("line 1") && err.contains("sequence"), "{err}");
    let err = error_of("unthread.toml", "max-file-size = -1\n");
    assert!(err.contains("line 1"), "{err}");
    let err = error_of("unthread.toml", "select = [\"UT001\"\n");
    assert!(err.contains("TOML parse error"), "{err}");
    let err = error_of("pyproject.toml", "[project]\nname = \"x\"\n");
    assert!(err.contains("[tool.unthread]"), "{err}");
    let err = error_of("unthread.toml", "per-file-ignores = { \"a/*.py\" = [\"XX1\"] }\n");
    assert!(err.contains("`per-file-ignores`") && err.contains("XX1"), "{err}");
    let err = error_of("unthread.toml", "exclude = [\"a/{b\"]\n");
    assert!(err.contains("a/{b"), "{err}");
}

#[test]
fn bad_command_line_selectors_name_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Overrides { ignore: vec!["UT9".into()], ..Default::default() };
    let err = Settings::resolve(None, &cli, dir.path(), dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("--ignore: ") && err.contains("UT9"), "{err}");
}

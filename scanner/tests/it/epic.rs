//! Excerpts reproducing the places the Open edX epic found by hand, scanned as real
//! packages: exact findings, the thread-local API index, cross-package use (UT011), the
//! golden output of the whole tree, SARIF validity, fingerprint stability, archives, cache.

use std::path::{Path, PathBuf};

use scanner::{output, scan_path, ApiIndex, Finding, ScanOptions, ScanReport};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/epic")
}

fn scan(dir: &Path, package: &str, index: ApiIndex) -> ScanReport {
    let options = ScanOptions { package: Some(package.into()), api_index: index, ..Default::default() };
    scan_path(dir, &options).unwrap()
}

fn summary(findings: &[Finding]) -> Vec<(String, String, u32, String)> {
    findings.iter().map(|f| (f.rule.clone(), f.path.clone(), f.start.line, f.symbol.clone())).collect()
}

fn row(rule: &str, path: &str, line: u32, symbol: &str) -> (String, String, u32, String) {
    (rule.into(), path.into(), line, symbol.into())
}

#[test]
fn crum_module_global_thread_local_with_accessors() {
    let report = scan(&fixtures().join("crum"), "django-crum", ApiIndex::new());
    assert_eq!(summary(&report.findings), [row("UT001", "__init__.py", 7, "__init__")]);
    // Scanned as a directory of its own, the package's __init__ has no package name; scanned
    // from above it is `crum`.
    let report = scan(&fixtures(), "epic", ApiIndex::new());
    let crum: Vec<_> = report.findings.iter().filter(|f| f.path.starts_with("crum/")).collect();
    assert_eq!(crum.len(), 1);
    assert_eq!(crum[0].symbol, "crum");
    let apis: Vec<&str> = report.api_index.apis.keys().map(String::as_str).filter(|k| k.starts_with("crum.")).collect();
    assert_eq!(
        apis,
        [
            "crum.CurrentRequestUserMiddleware",
            "crum.get_current_request",
            "crum.get_current_user",
            "crum.impersonate",
            "crum.set_current_user"
        ]
    );
    // The user is read through a signal whose receiver, in crum/signals.py (which the
    // prefilter alone would skip: it names no threading), imports the thread local inside a
    // function.
    let user = report.api_index.get("crum.get_current_user").unwrap();
    assert_eq!(user.holder, "crum._thread_locals");
    assert_eq!(
        user.chain,
        [
            "crum.get_current_user",
            "signal crum.signals.current_user_getter",
            "crum.signals._user_from_thread_locals",
            "crum._thread_locals"
        ]
    );
    let setter = &report.api_index.get("crum.set_current_user").unwrap().chain;
    assert_eq!(setter[1..3], ["signal crum.signals.current_user_setter", "crum.signals._store_user_on_thread_locals"]);
    assert_eq!(report.api_index.get("crum.impersonate").unwrap().chain[1], "crum.get_current_user");
    assert!(report.api_index.get("crum.signals._user_from_thread_locals").is_none(), "private names stay private");
}

#[test]
fn request_cache_class_and_its_reexports() {
    let report = scan(&fixtures(), "epic", ApiIndex::new());
    let found: Vec<_> =
        summary(&report.findings).into_iter().filter(|r| r.1.starts_with("edx_django_utils/")).collect();
    assert_eq!(found, [row("UT002", "edx_django_utils/cache/utils.py", 6, "edx_django_utils.cache.utils")]);
    for api in [
        "edx_django_utils.cache.utils.RequestCache",
        "edx_django_utils.cache.utils.TieredCache",
        "edx_django_utils.cache.RequestCache",
        "edx_django_utils.cache.TieredCache",
    ] {
        let entry = report.api_index.get(api).unwrap_or_else(|| panic!("{api} missing from the index"));
        assert_eq!(entry.holder, "edx_django_utils.cache.utils.REQUEST_CACHE");
    }
    assert!(report.api_index.get("edx_django_utils.cache.utils._RequestCache").is_none(), "private names stay private");
}

#[test]
fn a_decorator_caching_its_result_on_the_function_object() {
    // UT013 needs the call graph: it runs when asked for (and with runs-at).
    let options = ScanOptions {
        package: Some("epic".into()),
        call_graph_rules: true,
        unknown_time_writes: true,
        ..Default::default()
    };
    let report = scan_path(&fixtures(), &options).unwrap();
    assert!(scan(&fixtures(), "epic", ApiIndex::new()).findings.iter().all(|f| f.rule != "UT013"), "not by default");
    let found: Vec<_> = report.findings.iter().filter(|f| f.path.starts_with("edx_ace/")).collect();
    assert_eq!(
        summary(&found.iter().map(|f| (*f).clone()).collect::<Vec<_>>()),
        [row("UT013", "edx_ace/channel.py", 11, "edx_ace.channel.cached_result.wrapper")]
    );
    assert_eq!(
        found[0].message,
        "`func._cached_result` is changed in functions, by `cached_result.wrapper` (1 place): `func` is the function `cached_result` decorates, one object shared by every call"
    );
}

#[test]
fn mixin_attribute_holding_a_thread_local() {
    let report = scan(&fixtures(), "epic", ApiIndex::new());
    let found: Vec<_> = summary(&report.findings).into_iter().filter(|r| r.1.starts_with("xblock_mixin/")).collect();
    assert_eq!(found, [row("UT001", "xblock_mixin/runtime.py", 6, "runtime.ThreadCacheMixin")]);
    assert_eq!(
        report.api_index.get("runtime.ThreadCacheMixin").unwrap().holder,
        "runtime.ThreadCacheMixin.thread_cache"
    );
}

#[test]
fn module_dict_mutated_and_rlock_in_an_aggregator() {
    let report = scan(&fixtures(), "epic", ApiIndex::new());
    let found: Vec<_> = summary(&report.findings).into_iter().filter(|r| r.1.starts_with("eventtracking/")).collect();
    assert_eq!(
        found,
        [
            row("UT010", "eventtracking/aggregator.py", 4, "aggregator"),
            row("UT003", "eventtracking/aggregator.py", 13, "aggregator.EventAggregator.__init__"),
            row("UT004", "eventtracking/aggregator.py", 21, "aggregator.EventAggregator.flush"),
        ]
    );
    let ut010 = report.findings.iter().find(|f| f.rule == "UT010").unwrap();
    assert!(ut010.message.contains("`register`"), "{}", ut010.message);
}

#[test]
fn platform_calls_into_thread_local_apis_of_its_dependencies() {
    let deps = scan(&fixtures(), "epic", ApiIndex::new()).api_index;
    let platform = scan(&fixtures().join("platform"), "openedx-platform", deps.clone());
    assert_eq!(
        summary(&platform.findings),
        [
            row("UT011", "lms/views.py", 8, "views.course_home"),
            row("UT011", "lms/views.py", 9, "views.course_home"),
            row("UT011", "lms/views.py", 14, "views.audit"),
            row("UT011", "lms/views.py", 15, "views.audit"),
        ]
    );
    assert!(platform.findings[0].message.contains("crum._thread_locals"));
    assert_eq!(
        platform.findings[3].message,
        "`crum.get_current_user` is backed by thread-local `crum._thread_locals` in epic: `crum.get_current_user` → signal `crum.signals.current_user_getter` → `crum.signals._user_from_thread_locals` → `crum._thread_locals`"
    );
    // The index is a JSON input/output of the scan.
    assert_eq!(ApiIndex::from_json(&deps.to_json()).unwrap(), deps);
    assert!(ApiIndex::from_json("{\"version\": 99, \"apis\": {}}").is_err());
    assert!(ApiIndex::from_json("not json").is_err());
}

/// The whole tree's findings as JSON Lines, compared with the committed golden file.
/// Regenerate with `UPDATE_GOLDEN=1 cargo test -p scanner --test epic`.
#[test]
fn golden_output_of_the_fixture_tree() {
    let report = scan(&fixtures(), "epic", ApiIndex::new());
    let actual = output::json_lines(&report.findings);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/epic.jsonl");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 to create)");
    assert_eq!(actual, expected);
    // Deterministic: a second scan gives the same bytes.
    assert_eq!(output::json_lines(&scan(&fixtures(), "epic", ApiIndex::new()).findings), actual);
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    let schema_text = std::fs::read_to_string(&schema_path)
        .unwrap_or_else(|_| panic!("{} is missing: run scripts/setup.sh (npm install)", schema_path.display()));
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.py"), "import threading\n_l = threading.local()\n").unwrap();
    std::fs::write(dir.path().join("broken file.py"), "import threading\ndef f(:\n    return threading.local()\n")
        .unwrap();
    std::fs::write(dir.path().join("latin1.py"), b"x = '\xe9'\n").unwrap();
    let report = scan(dir.path(), "t", ApiIndex::new());
    let sarif = serde_json::to_value(output::sarif(&report)).unwrap();
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["partialFingerprints"]["unthread/v1"], report.findings[0].fingerprint.as_str());
    assert!(sarif["runs"][0]["tool"]["driver"]["rules"][0]["help"]["markdown"].as_str().unwrap().contains("## Fix"));
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2, "one partly parsed file, one unreadable file");
    assert!(notes
        .iter()
        .any(|n| n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken%20file.py"));
    // A broken document is rejected, so the check can fail.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "catastrophic".into();
    assert!(!validator.is_valid(&broken));
}

fn fingerprints_of(src: &str) -> Vec<String> {
    scanner::scan_source("pkg/mod.py", src.as_bytes(), &ApiIndex::new())
        .findings
        .into_iter()
        .map(|f| f.fingerprint)
        .collect()
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let original = "import threading\n\n_lock = threading.Lock()\n\ndef a():\n    x = threading.local()\n    y = threading.local()\n    return x, y\n\ndef b():\n    return 1\n";
    let base = fingerprints_of(original);
    assert_eq!(base.len(), 3);
    let inserted_above = format!("# a new header comment\nimport os\n\n{original}");
    assert_eq!(fingerprints_of(&inserted_above), base);
    let reformatted = original
        .replace("_lock = threading.Lock()", "_lock = threading.Lock(\n)  # guarded")
        .replace("x = threading.local()", "x = threading.local(  )");
    assert_eq!(fingerprints_of(&reformatted), base);
    let unrelated = original.replace("return 1", "return 2 + 2");
    assert_eq!(fingerprints_of(&unrelated), base);
    // Two identical statements in one function keep distinct, ordered identities.
    let same_twice = "import threading\ndef a():\n    x = threading.local()\n    x = threading.local()\n";
    let twice = fingerprints_of(same_twice);
    assert_ne!(twice[0], twice[1]);
    // Moving the finding to another function changes its identity.
    let moved = original.replace("def a():", "def c():");
    assert_ne!(fingerprints_of(&moved)[1], base[1]);
}

#[test]
fn archives_are_read_in_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let sources = [("crum/__init__.py", std::fs::read(fixtures().join("crum/__init__.py")).unwrap())];

    let wheel = dir.path().join("django_crum-0.7.9-py2.py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    for (name, bytes) in &sources {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.start_file("../../evil.py", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"import threading\nthreading.local()\n").unwrap();
    zip.finish().unwrap();

    let sdist = dir.path().join("django-crum-0.7.9.tar.gz");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&sdist).unwrap(),
        flate2::Compression::fast(),
    ));
    for (name, bytes) in &sources {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, format!("django-crum-0.7.9/{name}"), bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();

    for archive in [&wheel, &sdist] {
        let report = scan(archive, "django-crum", ApiIndex::new());
        assert_eq!(summary(&report.findings), [row("UT001", "crum/__init__.py", 7, "crum")], "{}", archive.display());
        assert!(report.api_index.get("crum.get_current_request").is_some());
    }
    assert!(scan_path(&dir.path().join("missing.whl"), &ScanOptions::default()).is_err());
    std::fs::write(dir.path().join("bad.whl"), b"not a zip").unwrap();
    let err = scan_path(&dir.path().join("bad.whl"), &ScanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("cannot read archive"), "{err}");
}

#[test]
fn walking_respects_gitignore_limits_and_test_filter() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, body) in [
        ("app/core.py", "import threading\nL = threading.local()\n"),
        ("app/tests/test_core.py", "import threading\nL = threading.local()\n"),
        ("build/gen.py", "import threading\nL = threading.local()\n"),
        ("node_modules/x/y.py", "import threading\nL = threading.local()\n"),
        ("env/lib/z.py", "import threading\nL = threading.local()\n"),
        ("app/huge.py", &format!("import threading\nL = threading.local()\n{}", "#\n".repeat(4096))),
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), body).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
    std::fs::write(root.join("env/pyvenv.cfg"), "home = /usr\n").unwrap();
    let mut options = ScanOptions::default();
    options.sources.max_file_size = 4096;
    let report = scan_path(root, &options).unwrap();
    let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["app/core.py", "app/huge.py", "app/tests/test_core.py"]);
    assert!(matches!(report.files[1].problem, Some(scanner::FileProblem::TooLarge(_))));
    assert_eq!(report.files_failed().count(), 1);
    options.sources.include_tests = false;
    let report = scan_path(root, &options).unwrap();
    assert!(report.files.iter().all(|f| !f.path.contains("tests/")));
}

#[test]
fn cache_reuses_unchanged_files_only() {
    let cache = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(tree.path().join("a.py"), "import threading\nA = threading.local()\n").unwrap();
    std::fs::write(tree.path().join("b.py"), "import threading\nB = threading.Lock()\n").unwrap();
    let options = ScanOptions { cache_dir: Some(cache.path().to_owned()), ..Default::default() };
    let cold = scan_path(tree.path(), &options).unwrap();
    assert_eq!(cold.cache_hits, 0);
    let warm = scan_path(tree.path(), &options).unwrap();
    assert_eq!(warm.cache_hits, 2);
    assert_eq!(warm.findings, cold.findings);
    std::fs::write(tree.path().join("b.py"), "B = 1\n").unwrap();
    let changed = scan_path(tree.path(), &options).unwrap();
    assert_eq!(changed.cache_hits, 1);
    assert_eq!(changed.findings.len(), 1, "the changed file was rescanned");
    // A corrupt cache is ignored, not trusted.
    std::fs::write(cache.path().join(scanner::cache::FILE_NAME), "{garbage").unwrap();
    assert_eq!(scan_path(tree.path(), &options).unwrap().findings, changed.findings);
}

#[test]
fn unchanged_files_are_not_even_read_on_rescan() {
    use scanner::{cache::ScanCache, source};
    let cache_dir = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (name, body) in
        [("a.py", "import threading\nA = threading.local()\n"), ("b.py", "import threading\nB = threading.Lock()\n")]
    {
        let path = tree.path().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(an_hour_ago).unwrap();
    }
    let options = ScanOptions { cache_dir: Some(cache_dir.path().to_owned()), ..Default::default() };
    let cold = scan_path(tree.path(), &options).unwrap();

    let cache = ScanCache::open(cache_dir.path(), &ScanOptions::default());
    let loaded = source::load(tree.path(), &options.sources).unwrap();
    assert!(loaded.iter().all(|f| cache.unchanged_hash(f).is_some() && f.contents.as_ref().unwrap().is_empty()));

    let warm = scan_path(tree.path(), &options).unwrap();
    assert_eq!(warm.cache_hits, 2);
    assert_eq!(warm.findings, cold.findings);

    // A changed file has a new modification time: it is read and rescanned.
    std::fs::write(tree.path().join("b.py"), "B = 2\n").unwrap();
    let changed = scan_path(tree.path(), &options).unwrap();
    assert_eq!(changed.cache_hits, 1);
    assert_eq!(changed.findings.len(), 1);
}

#[test]
fn an_unchanged_tree_gets_the_last_report_back() {
    use scanner::{cache::ScanCache, source};
    let cache_dir = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let write = |name: &str, body: &str, modified: std::time::SystemTime| {
        let path = tree.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
    };
    write("a.py", "import threading\nA = threading.local()\n", an_hour_ago);
    write("b.py", "import threading\nB = threading.Lock()\n", an_hour_ago);
    write("tests/test_c.py", "import threading\nC = threading.Lock()\n", an_hour_ago);
    let options = ScanOptions { cache_dir: Some(cache_dir.path().to_owned()), ..Default::default() };
    let cold = scan_path(tree.path(), &options).unwrap();
    assert_eq!(cold.findings.len(), 3);

    // The cache holds the report, for exactly this listing.
    let mut cache = ScanCache::open(cache_dir.path(), &ScanOptions::default());
    let files = source::load(tree.path(), &options.sources).unwrap();
    let package = tree.path().file_name().unwrap().to_string_lossy().into_owned();
    let listing = cache.listing(tree.path(), &files, &package, &options).unwrap();
    let last = cache.take_last_report(listing, &files).expect("the last report");
    assert_eq!((&last.findings, &last.api_index, &last.files), (&cold.findings, &cold.api_index, &cold.files));
    let warm = scan_path(tree.path(), &options).unwrap();
    assert_eq!((warm.findings, warm.cache_hits), (cold.findings.clone(), 3));

    // Any change to the listing or the options is a new scan: a new size, a new time, a file
    // left out.
    write("b.py", "B = 1\n", an_hour_ago);
    assert_eq!(scan_path(tree.path(), &options).unwrap().findings.len(), 2);
    write("a.py", "A = threading.local()\nimport threading\n", an_hour_ago + std::time::Duration::from_secs(1));
    let moved = scan_path(tree.path(), &options).unwrap();
    assert_eq!(moved.findings.iter().find(|f| f.path == "a.py").unwrap().start.line, 1);
    let without_tests = ScanOptions {
        sources: source::SourceOptions { include_tests: false, ..Default::default() },
        ..options.clone()
    };
    assert_eq!(scan_path(tree.path(), &without_tests).unwrap().findings.len(), 1);
    // A file changed within the racy margin of the cache's last write is never trusted.
    write("a.py", "import threading\nA = threading.local()\n", std::time::SystemTime::now());
    scan_path(tree.path(), &options).unwrap();
    let mut fresh = ScanCache::open(cache_dir.path(), &ScanOptions::default());
    let files = source::load(tree.path(), &options.sources).unwrap();
    let listing = fresh.listing(tree.path(), &files, &package, &options).unwrap();
    assert!(fresh.take_last_report(listing, &files).is_none());
    // Once older than that margin, the next scan writes the cache again, and the report is
    // trusted from then on.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    scan_path(tree.path(), &options).unwrap();
    let mut later = ScanCache::open(cache_dir.path(), &ScanOptions::default());
    assert!(later.take_last_report(listing, &files).is_some());
}

/// The text prefilter (skipping files, parsing only the blocks UT010 needs) never changes a
/// result: the epic tree scanned with and without it gives the same findings and API index.
#[test]
fn the_prefilter_changes_no_result() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/epic");
    let fast = scanner::scan_path(&root, &scanner::ScanOptions::default()).unwrap();
    let full = scanner::scan_path(&root, &scanner::ScanOptions { no_prefilter: true, ..Default::default() }).unwrap();
    assert_eq!(fast.findings, full.findings);
    assert_eq!(fast.api_index, full.api_index);
}

/// The same on a module whose constructs sit in separate blocks, reached only through other
/// names (a lock assigned at module level or to an attribute, a thread-local subclass of a
/// subclass, aliases, a task spawn in a module using context variables), between blocks no
/// rule needs: the prefilter must parse it in part, and find all the same.
#[test]
fn parsing_in_part_changes_no_result() {
    const MODULE: &str = r#"
import asyncio
import contextvars
import threading
from asgiref.sync import sync_to_async as s2a

_lock = threading.Lock()
_tls = threading.local()
_REGISTRY = {}
current = contextvars.ContextVar("current")


def unrelated(a, b):
    return a + b


async def refresh():
    with _lock:
        pass


class Store:
    """Holds things; its docstring has a column-0 line:
def not_a_block():
    """

    def __init__(self):
        self._guard = threading.RLock()

    def describe(self):
        return "store"


class Registry:
    def add(self, name, value):
        _REGISTRY[name] = value

    def size(self):
        return 0


class Other:
    async def run(self):
        with self._guard:
            pass


class Local(threading.local):
    pass


class Deeper(Local):
    pass


_store = Deeper()


def get_user():
    return _store.user


def get_request():
    return _tls.request


def register(name, value):
    _REGISTRY[name] = value


def reset():
    global _lock
    _lock = None


async def fan_out(coros):
    return await asyncio.gather(*coros)


@s2a
def blocking():
    return unrelated(1, 2)
"#;
    let methods: String = (0..40)
        .map(|i| format!("    def method_{i}(self):\n        return [i * {i} for i in range(10)]\n\n"))
        .collect();
    let source = format!("{MODULE}\n\nclass Unrelated:\n{methods}");
    let source = source.as_str();
    let prefilter = scanner::prefilter::Prefilter::new(&ApiIndex::new());
    let plan = prefilter.plan(source.as_bytes());
    let scanner::prefilter::ParsePlan::Only(ranges) = plan else { panic!("expected a partial parse, got {plan:?}") };
    let kept: String = ranges.iter().map(|r| &source[r.clone()]).collect();
    assert!(!kept.contains("def unrelated") && !kept.contains("class Unrelated"), "{kept}");
    // Of a needed class, only the methods that matter (and never a split inside a string).
    assert!(kept.contains("def not_a_block():\n    \"\"\"\n\n    def __init__(self):"), "{kept}");
    assert!(kept.contains("def add(self, name, value)"), "{kept}");
    assert!(!kept.contains("def describe") && !kept.contains("def size"), "{kept}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("module.py"), source).unwrap();
    let fast = scanner::scan_path(dir.path(), &scanner::ScanOptions::default()).unwrap();
    let full =
        scanner::scan_path(dir.path(), &scanner::ScanOptions { no_prefilter: true, ..Default::default() }).unwrap();
    let rules: std::collections::BTreeSet<&str> = full.findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in ["UT001", "UT002", "UT003", "UT004", "UT007", "UT010", "UT100"] {
        assert!(rules.contains(rule), "{rule} found by the full parse: {rules:?}");
    }
    assert_eq!(fast.findings, full.findings);
    assert_eq!(fast.api_index, full.api_index);
    assert!(!full.api_index.apis.is_empty(), "get_request reads a thread local: {:?}", full.api_index);
}

//! The thread-local API index across modules and packages: propagation to a fixpoint through
//! function-local imports, signals, module-level instances, delegating classes, re-exports
//! and a dependency's index, each scanned with the prefilter (as real scans are) and without
//! it, which must agree.

use scanner::{scan::scan_sources, source::SourceFile, ApiIndex, ScanOptions, ScanReport};

/// Scans the in-memory files `(path, source)` as package `package`, with and without the
/// prefilter (which must not change the index), given the dependencies' `input` index.
fn scan(files: &[(&str, &str)], package: &str, input: &ApiIndex) -> ScanReport {
    let sources = || {
        files
            .iter()
            .map(|(path, src)| SourceFile {
                path: (*path).into(),
                contents: Ok(src.as_bytes().to_vec()),
                on_disk: None,
            })
            .collect::<Vec<_>>()
    };
    let options = ScanOptions { api_index: input.clone(), ..Default::default() };
    let report = scan_sources(sources(), package, &options);
    let whole = scan_sources(sources(), package, &ScanOptions { no_prefilter: true, ..options });
    assert_eq!(report.api_index, whole.api_index, "the prefilter changed the index");
    assert_eq!(report.findings, whole.findings, "the prefilter changed the findings");
    report
}

fn chain(report: &ScanReport, qualname: &str) -> Vec<String> {
    report
        .api_index
        .get(qualname)
        .unwrap_or_else(|| panic!("{qualname} is not in {:?}", report.api_index))
        .chain
        .clone()
}

const STATE: &str =
    "import threading\n_local = threading.local()\n\ndef current():\n    return getattr(_local, 'value', None)\n";

#[test]
fn a_receiver_in_a_sibling_module_imported_inside_a_function_backs_the_sender() {
    let report = scan(
        &[
            ("pkg/__init__.py", ""),
            ("pkg/state.py", "import threading\n_local = threading.local()\n"),
            (
                "pkg/signals.py",
                "from django.dispatch import Signal, receiver\n\nasked = Signal()\nunrelated = Signal()\n\n@receiver(asked)\ndef _answer(sender, **kwargs):\n    from pkg.state import _local\n    return _local.value\n\n@receiver(unrelated)\ndef _quiet(sender, **kwargs):\n    return None\n",
            ),
            (
                "pkg/api.py",
                "def ask():\n    from pkg.signals import asked\n    return asked.send(ask)\n\ndef other():\n    from pkg.signals import unrelated\n    return unrelated.send_robust(other)\n\ndef registers():\n    from pkg.signals import asked\n    return asked.connect\n",
            ),
        ],
        "pkg",
        &ApiIndex::new(),
    );
    assert_eq!(
        chain(&report, "pkg.api.ask"),
        ["pkg.api.ask", "signal pkg.signals.asked", "pkg.signals._answer", "pkg.state._local"]
    );
    assert!(report.api_index.get("pkg.api.other").is_none(), "a signal without backed receivers backs nothing");
    assert!(report.api_index.get("pkg.api.registers").is_none(), "using a signal is not sending it");
}

#[test]
fn connect_registers_a_receiver_too() {
    let report = scan(
        &[
            ("pkg/__init__.py", ""),
            ("pkg/state.py", STATE),
            (
                "pkg/hooks.py",
                "from django.dispatch import Signal\nfrom pkg import state\n\nfetch = Signal()\n\ndef _from_state(sender, **kwargs):\n    return state._local.value\n\nfetch.connect(_from_state)\n\ndef fetch_value():\n    return fetch.send_robust(None)\n",
            ),
        ],
        "pkg",
        &ApiIndex::new(),
    );
    assert_eq!(
        chain(&report, "pkg.hooks.fetch_value"),
        ["pkg.hooks.fetch_value", "signal pkg.hooks.fetch", "pkg.hooks._from_state", "pkg.state._local"]
    );
}

#[test]
fn a_module_level_instance_of_a_backed_class_and_a_class_delegating_to_it() {
    let report = scan(
        &[
            ("pkg/__init__.py", "from .facade import Settings, settings\n"),
            (
                "pkg/store.py",
                "import threading\n\nclass _Store:\n    def __init__(self):\n        self._local = threading.local()\n\nclass Store:\n    _shared = threading.local()\n\n    def get(self, key):\n        return getattr(self._shared, key, None)\n",
            ),
            (
                "pkg/facade.py",
                "from .store import Store\n\nsettings = Store()\n\nclass Settings:\n    def value(self, key):\n        return settings.get(key)\n\nclass Plain:\n    def value(self):\n        return 1\n",
            ),
            ("pkg/use.py", "from pkg.facade import settings\n\ndef lookup(key):\n    return settings.get(key)\n"),
        ],
        "pkg",
        &ApiIndex::new(),
    );
    assert_eq!(chain(&report, "pkg.store.Store"), ["pkg.store.Store", "pkg.store.Store._shared"]);
    assert_eq!(
        chain(&report, "pkg.facade.settings"),
        ["pkg.facade.settings", "pkg.store.Store", "pkg.store.Store._shared"]
    );
    assert_eq!(report.api_index.get("pkg.facade.settings").unwrap().kind, scanner::api_index::ApiKind::Instance);
    assert_eq!(chain(&report, "pkg.facade.Settings")[1], "pkg.facade.settings");
    // A module that only uses another module's backed name (naming no holder) takes no part.
    assert!(report.api_index.get("pkg.use.lookup").is_none());
    // Re-exported from the package, as callers import them.
    assert!(report.api_index.get("pkg.settings").is_some() && report.api_index.get("pkg.Settings").is_some());
    assert!(report.api_index.get("pkg.facade.Plain").is_none());

    // Callers elsewhere: a method call on the instance is a use of it.
    let caller = scan(
        &[(
            "app/views.py",
            "from pkg import settings, Settings\n\ndef view():\n    return settings.get('x'), Settings().value('y')\n",
        )],
        "app",
        &report.api_index,
    );
    let rules: Vec<(&str, u32)> = caller.findings.iter().map(|f| (f.rule.as_str(), f.start.column)).collect();
    assert_eq!(rules, [("UT011", 12), ("UT011", 31)], "{:?}", caller.findings);
}

#[test]
fn a_chain_across_two_packages() {
    let first = scan(&[("low/__init__.py", STATE)], "low", &ApiIndex::new());
    assert!(first.api_index.get("low.current").is_some());
    let second = scan(
        &[
            ("mid/__init__.py", "from mid.user import who\n"),
            ("mid/user.py", "import low\n\ndef who():\n    return low.current()\n\ndef _helper():\n    return 1\n"),
        ],
        "mid",
        &first.api_index,
    );
    assert_eq!(chain(&second, "mid.user.who"), ["mid.user.who", "low.current", "low._local"]);
    assert_eq!(second.api_index.get("mid.who").unwrap().package, "mid");
    // The merged indexes reach the platform through both.
    let mut merged = first.api_index.clone();
    merged.merge(second.api_index.clone());
    let platform =
        scan(&[("lms/views.py", "from mid import who\n\ndef page():\n    return who()\n")], "platform", &merged);
    assert_eq!(platform.findings.len(), 1);
    assert_eq!(
        platform.findings[0].message,
        "`mid.who` is backed by thread-local `low._local` in mid: `mid.user.who` → `low.current` → `low._local`"
    );
}

#[test]
fn tests_and_the_sync_async_bridge_back_nothing() {
    // A test module's functions are no API, and its calls of one are not reported.
    let low = scan(&[("low/__init__.py", STATE), ("low/tests/test_state.py", STATE)], "low", &ApiIndex::new());
    assert!(low.api_index.get("low.current").is_some());
    assert!(low.api_index.apis.keys().all(|q| !q.contains("tests")), "{:?}", low.api_index);
    let uses = "from low import current\n\ndef page():\n    return current()\n";
    let platform = scan(&[("lms/views.py", uses), ("lms/tests/test_views.py", uses)], "platform", &low.api_index);
    let paths: Vec<&str> = platform.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["lms/views.py"]);
    // A sync/async bridge keeps sync code on its thread with thread locals that record which
    // loop, process and tasks run it: bookkeeping, no request's state — whatever the package.
    let bridge_module = "import os\nimport threading\n\nclass SyncToAsync:\n    threadlocal = threading.local()\n\n    def __call__(self, loop, task_context):\n        self.threadlocal.main_event_loop = loop\n        self.threadlocal.main_event_loop_pid = os.getpid()\n        self.threadlocal.task_context = task_context\n        return getattr(self.threadlocal, 'main_event_loop', None)\n\ndef sync_to_async(func):\n    return SyncToAsync()\n";
    for package in ["asgiref", "bridge"] {
        let bridge = scan(
            &[(&format!("{package}/__init__.py"), ""), (&format!("{package}/sync.py"), bridge_module)],
            package,
            &ApiIndex::new(),
        );
        assert!(bridge.api_index.is_empty(), "{package}: {:?}", bridge.api_index);
    }
    // The same holder keeping the user is request state.
    let user_module = bridge_module.replace("main_event_loop_pid = os.getpid()", "user = current_user()");
    let state = scan(&[("bridge/__init__.py", ""), ("bridge/sync.py", &user_module)], "bridge", &ApiIndex::new());
    assert!(state.api_index.get("bridge.sync.SyncToAsync").is_some(), "{:?}", state.api_index);
}

#[test]
fn indexes_of_format_1_are_still_read() {
    let v1 = r#"{"version": 1, "apis": {"crum.get_current_request": {"qualname": "crum.get_current_request", "holder": "crum._thread_locals", "package": "django-crum", "path": "crum/__init__.py", "line": 20}}}"#;
    let index = ApiIndex::from_json(v1).unwrap();
    assert_eq!(index.version, scanner::api_index::FORMAT_VERSION);
    assert!(index.get("crum.get_current_request").unwrap().chain.is_empty());
    assert!(ApiIndex::from_json(r#"{"version": 3, "apis": {}}"#).is_err());
}

#[test]
fn a_class_attribute_made_from_a_backed_class_backs_that_attribute_not_the_class() {
    // simple_history's HistoricalRecords keeps the request in a thread local.
    let history = scan(
        &[
            ("simple_history/__init__.py", ""),
            (
            "simple_history/models.py",
            "import threading\n\nclass HistoricalRecords:\n    context = threading.local()\n\n    def post_save(self, instance):\n        return self.context.request\n",
            ),
        ],
        "simple_history",
        &ApiIndex::new(),
    );
    assert!(history.api_index.get("simple_history.models.HistoricalRecords").is_some(), "{:?}", history.api_index);
    // A model holding one in a class attribute: the attribute is backed, the model is not.
    let models = "from simple_history.models import HistoricalRecords\n\nclass Customer:\n    objects = Manager()\n    history = HistoricalRecords()\n";
    let app = scan(&[("shop/__init__.py", ""), ("shop/models.py", models)], "shop", &history.api_index);
    assert!(app.api_index.get("shop.models.Customer.history").is_some(), "{:?}", app.api_index);
    assert!(app.api_index.get("shop.models.Customer").is_none(), "{:?}", app.api_index);
    // Its users: reading through the manager reaches nothing; through the attribute it does.
    let views = "from shop.models import Customer\n\ndef page():\n    Customer.objects.get(id=1)\n    return Customer.history.all()\n";
    let platform = scan(&[("lms/views.py", views)], "platform", &app.api_index);
    let lines: Vec<u32> = platform.findings.iter().filter(|f| f.rule == "UT011").map(|f| f.start.line).collect();
    assert_eq!(lines, [5]);
}

#[test]
fn calls_made_while_a_module_is_imported_are_not_request_hazards() {
    let low = scan(&[("low/__init__.py", STATE)], "low", &ApiIndex::new());
    let views = "import low\n\nVALUE = low.current()\n\nclass Page:\n    default = low.current()\n\n    def render(self, key=low.current()):\n        return low.current()\n\nlater = lambda: low.current()\n\n@decorate(low.current())\ndef view():\n    return low.current()\n";
    let platform = scan(&[("lms/views.py", views)], "platform", &low.api_index);
    let lines: Vec<u32> = platform.findings.iter().filter(|f| f.rule == "UT011").map(|f| f.start.line).collect();
    // Module level (3), a class body (6) and a default value (8) run at import; the method's
    // body (9), the lambda's (11) and the function's (15) run later, and so does the
    // decorator's wrapper (13), at every call of the view.
    assert_eq!(lines, [9, 11, 13, 15], "{:?}", platform.findings);
}

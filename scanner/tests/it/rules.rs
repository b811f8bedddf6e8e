//! Positive and negative cases for every rule, including each import alias form.

use scanner::{scan::scan_sources, scan_source, source::SourceFile, ApiIndex, Finding, ScanOptions, ThreadLocalApi};

fn scan(src: &str) -> Vec<Finding> {
    scan_with(src, &ApiIndex::new())
}

/// The findings of `src` parsed whole — which must be those a real scan reports, where the
/// prefilter decides what is parsed: a rule whose constructs the prefilter does not know
/// would pass its cases here and report nothing in real scans.
fn scan_with(src: &str, index: &ApiIndex) -> Vec<Finding> {
    let outcome = scan_source("pkg/mod.py", src.as_bytes(), index);
    assert_eq!(outcome.problem, None, "fixture must parse cleanly:\n{src}");
    let file = SourceFile { path: "pkg/mod.py".into(), contents: Ok(src.as_bytes().to_vec()), on_disk: None };
    let options = ScanOptions {
        api_index: index.clone(),
        call_graph_rules: true,
        unknown_time_writes: true,
        ..Default::default()
    };
    let mut through_prefilter = scan_sources(vec![file], "", &options).findings;
    // When code runs is a fact of the whole package, not of one file's scan.
    for finding in &mut through_prefilter {
        finding.runs_at = None;
    }
    assert_eq!(through_prefilter, outcome.findings, "the prefilter changes what is found in:\n{src}");
    outcome.findings
}

/// `(rule, line)` of every finding of `rule`.
fn hits(src: &str, rule: &str) -> Vec<u32> {
    scan(src).into_iter().filter(|f| f.rule == rule).map(|f| f.start.line).collect()
}

#[test]
fn ut001_every_import_form() {
    for (src, line) in [
        ("import threading\nx = threading.local()\n", 2),
        ("import threading as t\nx = t.local()\n", 2),
        ("from threading import local as L\nx = L()\n", 2),
        ("from threading import local\nx = local()\n", 2),
        ("import _threading_local\nx = _threading_local.local()\n", 2),
        ("from _threading_local import local\nx = local()\n", 2),
        ("import threading\nLocal = threading.local\nx = Local()\n", 3),
        ("def f():\n    import threading\n    return threading.local()\n", 3),
    ] {
        assert_eq!(hits(src, "UT001"), [line], "{src}");
    }
}

#[test]
fn ut001_other_locals_do_not_match() {
    for src in [
        "from gevent import local\nx = local()\n",
        "from gevent.local import local\nx = local()\n",
        "from werkzeug.local import Local\nx = Local()\n",
        "from asgiref.local import Local\nx = Local()\n",
        "from .local import local\nx = local()\n",
        "from . import threading\nx = threading.local()\n",
        "x = local()\n",
        "import threadingx\nx = threadingx.local()\n",
    ] {
        assert!(hits(src, "UT001").is_empty(), "{src}");
    }
}

#[test]
fn ut001_try_except_fallback_is_conditional() {
    let src = "try:\n    from greenlet import getcurrent\n    from gevent.local import local\nexcept ImportError:\n    from threading import local\n_l = local()\n";
    let findings: Vec<Finding> = scan(src).into_iter().filter(|f| f.rule == "UT001").collect();
    assert_eq!(findings.len(), 1);
    assert!(findings[0].conditional);
    let plain = scan("import threading\n_l = threading.local()\n");
    assert!(!plain[0].conditional);
}

#[test]
fn ut002_thread_local_subclasses() {
    assert_eq!(hits("import threading\nclass _RequestCache(threading.local):\n    pass\n", "UT002"), [2]);
    assert_eq!(hits("from threading import local as L\nclass C(L):\n    pass\n", "UT002"), [2]);
    assert_eq!(
        hits("import threading\nclass A(threading.local):\n    pass\nclass B(A):\n    pass\n", "UT002"),
        [2, 4],
        "a subclass of a thread-local class is one too"
    );
    assert!(hits("class C(object):\n    pass\n", "UT002").is_empty());
    assert!(hits("from werkzeug.local import Local\nclass C(Local):\n    pass\n", "UT002").is_empty());
}

#[test]
fn ut003_locks() {
    assert_eq!(
        hits("import threading\na = threading.Lock()\nb = threading.RLock()\nc = threading.Condition()\n", "UT003"),
        [2, 3, 4]
    );
    assert_eq!(hits("from threading import Semaphore, BoundedSemaphore, Event, Barrier\na = Semaphore(2)\nb = BoundedSemaphore()\nc = Event()\nd = Barrier(2)\n", "UT003"), [2, 3, 4, 5]);
    assert_eq!(hits("from six.moves import _thread\nl = _thread.allocate_lock()\n", "UT003"), [2]);
    assert_eq!(hits("import threading\nLock = threading.Lock\nl = Lock()\n", "UT003"), [3]);
    assert!(hits("import asyncio\nl = asyncio.Lock()\n", "UT003").is_empty());
    assert!(hits("from multiprocessing import Lock\nl = Lock()\n", "UT003").is_empty());
    // One hazard, one finding: the condition owns the lock it is given.
    assert_eq!(hits("import threading\nc = threading.Condition(threading.Lock())\n", "UT003"), [2]);
    assert_eq!(hits("import threading\nc = threading.Condition(threading.Lock())\n", "UT003").len(), 1);
    // A parameter defaulting to a lock class, called (kombu's clocks).
    let kombu = "from threading import Lock\n\nclass LamportClock:\n    def __init__(self, initial_value=0, Lock=Lock):\n        self.value = initial_value\n        self.mutex = Lock()\n";
    assert_eq!(hits(kombu, "UT003"), [6]);
    let typed = "import threading\n\ndef make(Lock: type = threading.RLock):\n    return Lock()\n";
    assert_eq!(hits(typed, "UT003"), [4]);
    // A parameter without a lock default is anything the caller passes.
    assert!(hits("def make(Lock):\n    return Lock()\n", "UT003").is_empty());
    assert!(hits("import asyncio\ndef make(Lock=asyncio.Lock):\n    return Lock()\n", "UT003").is_empty());
}

#[test]
fn ut004_locks_taken_in_async_code() {
    let module_lock = "import threading\n_lock = threading.Lock()\nasync def f():\n    with _lock:\n        pass\n";
    assert_eq!(hits(module_lock, "UT004"), [4]);
    let attribute_lock = "import threading\nclass A:\n    def __init__(self):\n        self._lock = threading.RLock()\n    async def f(self):\n        self._lock.acquire()\n";
    assert_eq!(hits(attribute_lock, "UT004"), [6]);
    let inline = "import threading\nasync def f():\n    with threading.Lock() as l, open('x'):\n        pass\n";
    assert_eq!(hits(inline, "UT004"), [3]);
    let sync_def = "import threading\n_lock = threading.Lock()\ndef f():\n    with _lock:\n        pass\n";
    assert!(hits(sync_def, "UT004").is_empty());
    let asyncio_lock = "import asyncio\n_lock = asyncio.Lock()\nasync def f():\n    async with _lock:\n        pass\n";
    assert!(hits(asyncio_lock, "UT004").is_empty());
    let nested_sync = "import threading\n_lock = threading.Lock()\nasync def f():\n    def g():\n        with _lock:\n            pass\n";
    assert!(hits(nested_sync, "UT004").is_empty(), "a sync function nested in a coroutine runs wherever it is called");
}

#[test]
fn ut005_threads() {
    assert_eq!(hits("import threading\nthreading.Thread(target=f).start()\n", "UT005"), [2]);
    assert_eq!(hits("from threading import Timer\nTimer(1, f).start()\n", "UT005"), [2]);
    assert_eq!(hits("import threading\nclass Worker(threading.Thread):\n    pass\n", "UT005"), [2]);
    assert!(hits("import threading, contextvars\nctx = contextvars.copy_context()\nthreading.Thread(target=ctx.run, args=(f,)).start()\n", "UT005").is_empty());
    assert!(hits("from multiprocessing import Process\nProcess(target=f)\n", "UT005").is_empty());
}

#[test]
fn ut006_executors() {
    assert_eq!(hits("async def f(loop):\n    await loop.run_in_executor(None, g, 1)\n", "UT006"), [2]);
    assert!(hits("import contextvars\nasync def f(loop):\n    await loop.run_in_executor(None, contextvars.copy_context().run, g)\n", "UT006").is_empty());
    assert!(hits("import contextvars\nasync def f(loop, ctx: contextvars.Context):\n    await loop.run_in_executor(None, ctx.run, g)\n", "UT006").is_empty());
    assert!(hits("import functools\nfrom contextvars import Context\nasync def f(loop, ctx: Context):\n    await loop.run_in_executor(None, functools.partial(ctx.run, g))\n", "UT006").is_empty());
    let pool = "from concurrent.futures import ThreadPoolExecutor\ndef f():\n    with ThreadPoolExecutor(4) as pool:\n        pool.submit(g)\n        pool.map(g, [1])\n";
    assert_eq!(hits(pool, "UT006"), [4, 5]);
    let assigned =
        "import concurrent.futures\nPOOL = concurrent.futures.ThreadPoolExecutor()\ndef f():\n    POOL.submit(g)\n";
    assert_eq!(hits(assigned, "UT006"), [4]);
    assert!(hits("def f(session):\n    session.submit(g)\n", "UT006").is_empty(), "submit on anything else");
}

#[test]
fn ut007_tasks_in_context_var_modules() {
    let src = "import asyncio\nfrom contextvars import ContextVar\nv = ContextVar('v')\nasync def f(loop):\n    await asyncio.gather(a(), b())\n    asyncio.create_task(a())\n    loop.create_task(a())\n";
    assert_eq!(hits(src, "UT007"), [5, 6, 7]);
    assert!(hits("import asyncio\nasync def f():\n    await asyncio.gather(a())\n", "UT007").is_empty());
}

#[test]
fn ut008_sync_to_async() {
    assert_eq!(
        hits("from asgiref.sync import sync_to_async as s2a\nh = s2a(f, thread_sensitive=False)\n", "UT008"),
        [2]
    );
    assert!(hits("from asgiref.sync import sync_to_async\nh = sync_to_async(f)\n", "UT008").is_empty());
    let consumer = "from asgiref.sync import sync_to_async\nfrom channels.generic.websocket import AsyncWebsocketConsumer\nclass Chat(AsyncWebsocketConsumer):\n    async def receive(self, text_data):\n        await sync_to_async(save)(text_data)\n    @sync_to_async\n    def load(self):\n        pass\n";
    assert_eq!(hits(consumer, "UT008"), [5, 6]);
}

#[test]
fn ut009_async_to_sync_in_coroutines() {
    let src = "from asgiref.sync import async_to_sync\nasync def f(layer):\n    async_to_sync(layer.group_send)('g', {})\ndef g(layer):\n    async_to_sync(layer.group_send)('g', {})\n";
    assert_eq!(hits(src, "UT009"), [3]);
}

#[test]
fn ut010_module_globals_mutated_at_request_time() {
    let src = "_CACHE = {}\n_SEEN = []\nNAMES = set()\n_count = 0\ndef get(k):\n    _CACHE[k] = 1\n    _SEEN.append(k)\ndef bump():\n    global _count\n    _count += 1\n";
    let findings: Vec<Finding> = scan(src).into_iter().filter(|f| f.rule == "UT010").collect();
    let lines: Vec<u32> = findings.iter().map(|f| f.start.line).collect();
    assert_eq!(lines, [1, 2, 4], "one finding per global, at its definition");
    assert!(findings[0].message.contains("`get`"), "{}", findings[0].message);
    assert!(hits("_CACHE = {}\n_CACHE['a'] = 1\n", "UT010").is_empty(), "import-time setup is fine");
    assert!(
        hits("_CACHE = {}\ndef f():\n    _CACHE = {}\n    _CACHE['a'] = 1\n", "UT010").is_empty(),
        "a local shadows the global"
    );
    assert!(
        hits("_CACHE = {}\ndef f(_CACHE):\n    _CACHE['a'] = 1\n", "UT010").is_empty(),
        "a parameter shadows the global"
    );
    assert!(
        hits("NAMES = ('a',)\ndef f():\n    NAMES.append(1)\n", "UT010").is_empty(),
        "only mutable containers count for in-place changes"
    );
}

#[test]
fn ut011_thread_local_api_calls() {
    let mut index = ApiIndex::new();
    index.insert(ThreadLocalApi {
        qualname: "crum.get_current_request".into(),
        holder: "crum._thread_locals".into(),
        package: "django-crum".into(),
        path: "crum/__init__.py".into(),
        line: 20,
        kind: Default::default(),
        chain: vec![],
    });
    let src = "from crum import get_current_request\nimport crum as c\ndef f():\n    get_current_request()\n    c.get_current_request()\n    c.get_current_user()\n";
    let lines: Vec<u32> =
        scan_with(src, &index).into_iter().filter(|f| f.rule == "UT011").map(|f| f.start.line).collect();
    assert_eq!(lines, [4, 5]);
    assert!(scan("from crum import get_current_request\nget_current_request()\n").iter().all(|f| f.rule != "UT011"));
}

#[test]
fn ut012_unused_threading_imports() {
    assert_eq!(hits("import threading\nx = 1\n", "UT012"), [1]);
    assert_eq!(hits("import threading as t\nfrom threading import Lock\nx = 1\n", "UT012"), [1, 2]);
    assert!(hits("import threading\nx = threading.get_ident()\n", "UT012").is_empty());
    assert!(hits("from threading import Lock\nclass A:\n    lock = Lock\n", "UT012").is_empty());
}

#[test]
fn ut100_context_vars() {
    assert_eq!(hits("from contextvars import ContextVar\nv = ContextVar('v')\n", "UT100"), [2]);
    assert_eq!(hits("from asgiref.local import Local\nv = Local()\n", "UT100"), [2]);
}

#[test]
fn modern_syntax_parses() {
    let src = "type Alias = list[int]\nclass Box[T]:\n    def get[U](self, x: U) -> T: ...\ndef f(cmd):\n    match cmd:\n        case {'a': 1}:\n            pass\n        case [x, *rest]:\n            pass\n";
    let outcome = scan_source("m.py", src.as_bytes(), &ApiIndex::new());
    assert_eq!(outcome.problem, None);
}

#[test]
fn syntax_errors_still_yield_findings() {
    let src = "import threading\n_l = threading.local()\ndef broken(:\n    pass\n_m = threading.local()\n";
    let outcome = scan_source("m.py", src.as_bytes(), &ApiIndex::new());
    assert_eq!(outcome.problem, Some(scanner::FileProblem::PartiallyParsed));
    let lines: Vec<u32> = outcome.findings.iter().filter(|f| f.rule == "UT001").map(|f| f.start.line).collect();
    assert!(lines.contains(&2), "{lines:?}");
}

#[test]
fn hostile_input_never_panics() {
    let deep = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    scan_source("deep.py", deep.as_bytes(), &ApiIndex::new());
    let deep_calls = format!("import threading\nx = {}threading.local(){}\n", "f(".repeat(5_000), ")".repeat(5_000));
    let outcome = scan_source("calls.py", deep_calls.as_bytes(), &ApiIndex::new());
    assert_eq!(outcome.findings.iter().filter(|f| f.rule == "UT001").count(), 1);
    assert_eq!(scan_source("bin.py", b"\x00\x01\x02", &ApiIndex::new()).problem, Some(scanner::FileProblem::Binary));
    assert_eq!(scan_source("latin.py", b"x = '\xe9'\n", &ApiIndex::new()).problem, Some(scanner::FileProblem::NotUtf8));
    scan_source("empty.py", b"", &ApiIndex::new());
}

#[test]
fn names_resolve_by_pythons_scoping_rules() {
    // A function-local import hides the module's import of the same name in that function.
    let shadowed = "from threading import RLock\n\ndef worker():\n    from multiprocessing import RLock\n    return RLock()\n\n_lock = RLock()\n";
    assert_eq!(hits(shadowed, "UT003"), [7], "only the module-level RLock is threading's");
    // …and the other way round: a function-local threading import counts only in its function.
    let local_threading = "from multiprocessing import Lock\n\ndef f():\n    from threading import Lock\n    return Lock()\n\ndef g():\n    return Lock()\n";
    assert_eq!(hits(local_threading, "UT003"), [5]);
    // Enclosing functions are searched outwards; a nested function sees its parent's import.
    let nested =
        "def outer():\n    import threading\n    def inner():\n        return threading.Lock()\n    return inner\n";
    assert_eq!(hits(nested, "UT003"), [4]);
    // A class body's import is not visible in its methods.
    let class_body = "from multiprocessing import Lock\n\nclass C:\n    from threading import Lock\n    guard = Lock()\n\n    def m(self):\n        return Lock()\n";
    assert_eq!(hits(class_body, "UT003"), [5]);
    // A parameter or a local assignment shadows the module's import; `global` sends the name
    // back to the module.
    let parameter = "import threading\n\ndef f(threading):\n    return threading.Lock()\n";
    assert!(hits(parameter, "UT003").is_empty());
    let assigned = "from threading import Lock\n\ndef f():\n    Lock = make_lock\n    return Lock()\n";
    assert!(hits(assigned, "UT003").is_empty());
    let global = "from threading import Lock\n\ndef f():\n    global Lock\n    Lock = Lock()\n";
    assert_eq!(hits(global, "UT003"), [5]);
}

#[test]
fn only_a_contextvars_context_runs_a_target_in_context() {
    // `self.run` — the most common thread target — runs without the caller's context.
    let own_run = "import threading\n\nclass Worker:\n    def start(self):\n        threading.Thread(target=self.run).start()\n\n    def run(self):\n        pass\n";
    assert_eq!(hits(own_run, "UT005"), [5]);
    let in_function = "import threading, contextvars\n\ndef spawn(job):\n    ctx = contextvars.copy_context()\n    threading.Thread(target=ctx.run, args=(job,)).start()\n";
    assert!(hits(in_function, "UT005").is_empty());
    let partial = "import functools, threading\nfrom contextvars import copy_context\n\ndef spawn(job):\n    ctx = copy_context()\n    threading.Thread(target=functools.partial(ctx.run, job)).start()\n";
    assert!(hits(partial, "UT005").is_empty());
    // A name is a context only when assigned one in the same scope, or annotated as one.
    let elsewhere = "import threading, contextvars\n\ndef make():\n    ctx = contextvars.copy_context()\n\ndef spawn(ctx, job):\n    threading.Thread(target=ctx.run, args=(job,)).start()\n";
    assert_eq!(hits(elsewhere, "UT005"), [7]);
    let other_object = "import threading\n\ndef spawn(job, runner):\n    runner = make_runner()\n    threading.Thread(target=runner.run).start()\n";
    assert_eq!(hits(other_object, "UT005"), [5]);
    let annotated = "import threading\nimport contextvars\n\ndef spawn(ctx: contextvars.Context, job):\n    threading.Thread(target=ctx.run, args=(job,)).start()\n";
    assert!(hits(annotated, "UT005").is_empty());
    // …or an attribute the module assigns a copied context.
    let attribute = "import threading, contextvars\n\nclass Job:\n    def __init__(self):\n        self.context = contextvars.copy_context()\n\n    def start(self):\n        threading.Thread(target=self.context.run, args=(self.work,)).start()\n";
    assert!(hits(attribute, "UT005").is_empty());
    let executor = "async def f(loop, job):\n    await loop.run_in_executor(None, job.run)\n";
    assert_eq!(hits(executor, "UT006"), [2]);
}

#[test]
fn thread_critical_asgiref_locals_are_thread_locals() {
    for src in [
        "from asgiref.local import Local\n_state = Local(thread_critical=True)\n",
        "import asgiref.local\n_state = asgiref.local.Local(True)\n",
    ] {
        let found = scan(src);
        let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["UT001"], "{src}");
        assert!(found[0].message.contains("thread_critical=True"), "{}", found[0].message);
    }
    for src in [
        "from asgiref.local import Local\n_state = Local()\n",
        "from asgiref.local import Local\n_state = Local(thread_critical=False)\n",
    ] {
        let rules: Vec<String> = scan(src).into_iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["UT100"], "{src}");
    }
    // As a holder, it backs the functions that use it (rule UT011's index).
    let file = SourceFile {
        path: "pkg/state.py".into(),
        contents: Ok(b"from asgiref.local import Local\n_state = Local(thread_critical=True)\n\ndef current():\n    return _state.value\n".to_vec()),
        on_disk: None,
    };
    let report = scan_sources(vec![file], "pkg", &ScanOptions::default());
    assert!(report.api_index.get("state.current").is_some(), "{:?}", report.api_index);
}

#[test]
fn ut013_attributes_of_shared_objects_written_at_request_time() {
    for (src, line, object) in [
        // The edx-ace pattern: a decorator caching the result on the function it wraps.
        ("def cached(func):\n    def wrapper(*args):\n        if not hasattr(func, '_result'):\n            func._result = func(*args)\n        return func._result\n    return wrapper\n", 4, "func._result"),
        // A module-level class, by name, from a function; augmented; in place; deleted.
        ("class Registry:\n    items = {}\n\ndef register(key, value):\n    Registry.items[key] = value\n", 5, "Registry.items"),
        ("class Counter:\n    hits = 0\n\ndef hit():\n    Counter.hits += 1\n", 5, "Counter.hits"),
        ("class Hooks:\n    pending = []\n\ndef add(hook):\n    Hooks.pending.append(hook)\n", 5, "Hooks.pending"),
        ("def handler():\n    pass\n\ndef reset():\n    del handler.state\n", 5, "handler.state"),
        // The class through cls, type(self), self.__class__.
        ("class Client:\n    @classmethod\n    def connect(cls, url):\n        cls._instance = make(url)\n", 4, "Client._instance"),
        ("class Model:\n    def save(self):\n        type(self).saves += 1\n", 3, "Model.saves"),
        ("class Model:\n    def save(self):\n        self.__class__.last = self\n", 3, "Model.last"),
        // Imported modules and names.
        ("from django.conf import settings\n\ndef view(request):\n    settings.CURRENT_SITE = request.site\n", 4, "django.conf.settings.CURRENT_SITE"),
        ("import os\n\ndef view(request):\n    os.environ['USER_ID'] = str(request.user.id)\n", 4, "os.environ"),
        ("from . import state\n\ndef view(request):\n    state.current = request\n", 4, ".state.current"),
    ] {
        let found: Vec<Finding> = scan(src).into_iter().filter(|f| f.rule == "UT013").collect();
        assert_eq!(found.iter().map(|f| f.start.line).collect::<Vec<_>>(), [line], "{src}");
        let shown = object.rsplit_once('.').map(|(o, a)| format!("`{}.{a}`", o.rsplit('.').next().unwrap_or(o))).unwrap();
        assert!(
            found[0].message.contains(&shown) || found[0].message.contains(&format!("`{object}`")),
            "{src}: {} lacks {shown}",
            found[0].message
        );
    }
}

#[test]
fn ut013_wrapped_functions_are_called_or_wrapped_and_tests_patch_freely() {
    let wraps = "import functools\n\ndef once(func):\n    @functools.wraps(func)\n    def inner():\n        func.done = True\n    return inner\n";
    assert_eq!(hits(wraps, "UT013"), [6]);
    // A test module patches shared objects on purpose.
    let patching = "from django.conf import settings\n\ndef test_view():\n    settings.DEBUG = True\n";
    assert_eq!(hits(patching, "UT013"), [4]);
    for path in ["pkg/tests/views.py", "pkg/test_views.py", "pkg/tests.py", "numpy/testing/utils.py"] {
        let outcome = scan_source(path, patching.as_bytes(), &ApiIndex::new());
        assert!(outcome.findings.iter().all(|f| f.rule != "UT013"), "{path}: {:?}", outcome.findings);
    }
}

#[test]
fn ut013_groups_writes_and_names_the_functions() {
    let src = "class Stats:\n    n = 0\n\ndef a():\n    Stats.n += 1\n\ndef b():\n    Stats.n = 0\n\ndef c():\n    Stats.n -= 1\n";
    let found: Vec<Finding> = scan(src).into_iter().filter(|f| f.rule == "UT013").collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start.line, 5);
    assert!(found[0].message.contains("`a`, `b`, `c` (3 places)"), "{}", found[0].message);
}

#[test]
fn ut013_not_for_instances_import_time_code_or_local_objects() {
    for src in [
        // Per-instance state.
        "class A:\n    def __init__(self):\n        self.cache = {}\n\n    def m(self):\n        self.cache['k'] = 1\n        self.count = 2\n",
        // Module-level code runs once, at import.
        "class Registry:\n    items = {}\n\nRegistry.items['x'] = 1\nimport os\nos.environ.setdefault('X', '1')\n",
        "if __name__ == '__main__':\n    import sys\n    sys.argv = ['x']\n",
        // A decorator's own body runs once per decorated function.
        "def register(func):\n    func.registered = True\n    return func\n",
        // Not a decorator: the parameter is any object the caller passes.
        "def update(obj):\n    def inner():\n        obj.x = 1\n    inner()\n",
        // A closure factory, not a decorator: the returned function neither calls nor wraps
        // the object it closes over (grpc's per-call `state`).
        "def _receive(state):\n    def receive(message):\n        state.client = message\n    return receive\n",
        // Local objects, and names a function binds itself.
        "def f():\n    class Local:\n        pass\n    Local.x = 1\n    obj = make()\n    obj.y = 2\n",
        "import settings\n\ndef f(settings):\n    settings.X = 1\n",
        "class Config:\n    pass\n\ndef f():\n    Config = make_config()\n    Config.debug = True\n",
        // A class made inside a function is made per call.
        "def factory():\n    class Made:\n        @classmethod\n        def setup(cls):\n            cls.ready = True\n    return Made\n",
        // `cls` of a method that is not a classmethod (a metaclass's) is not the class.
        "class Meta(type):\n    def __init__(cls, name, bases, ns):\n        cls.registry = {}\n",
        // Reading is not writing; comparing is not assigning.
        "from django.conf import settings\n\ndef f():\n    return settings.DEBUG == True\n",
    ] {
        assert!(hits(src, "UT013").is_empty(), "{src}: {:?}", scan(src));
    }
}

#[test]
fn snippets_of_a_very_long_line_are_cut_around_the_finding() {
    // 3,000 locks on one 60 KB line (generated or minified code).
    let statements: Vec<String> = (0..3000).map(|i| format!("lock_{i:05} = threading.Lock()")).collect();
    let src = format!("import threading; {}\n", statements.join("; "));
    assert!(src.len() > 60_000);
    let findings: Vec<Finding> = scan(&src).into_iter().filter(|f| f.rule == "UT003").collect();
    assert_eq!(findings.len(), 3000);
    for finding in &findings {
        assert!(finding.line_text.len() <= scanner::rules::MAX_SNIPPET_BYTES + 6, "{}", finding.line_text.len());
    }
    let last = findings.last().unwrap();
    assert!(
        last.line_text.starts_with('…') && last.line_text.contains("lock_02999 = threading.Lock()"),
        "{}",
        last.line_text
    );
    let first = &findings[0];
    assert!(first.line_text.starts_with("import threading; lock_00000") && first.line_text.ends_with('…'));
    // A short line is kept whole.
    let short = scan("import threading\nx = threading.Lock()  # é\n");
    assert_eq!(short[0].line_text, "x = threading.Lock()  # é");
}

#[test]
fn ut001_the_per_thread_half_of_a_context_local_is_not_a_finding() {
    // asgiref's Local: per-thread storage only when its caller asks for it.
    let asgiref = "import contextvars\nimport threading\n\nclass _CVar:\n    def __init__(self):\n        self._data = contextvars.ContextVar('asgiref.local')\n\nclass Local:\n    def __init__(self, thread_critical=False):\n        if thread_critical:\n            self._storage = threading.local()\n        else:\n            self._storage = _CVar()\n";
    assert!(hits(asgiref, "UT001").is_empty(), "{:?}", hits(asgiref, "UT001"));
    let direct = "import contextvars\nimport threading\n\ndef storage(per_thread):\n    if per_thread:\n        s = threading.local()\n    else:\n        s = contextvars.ContextVar('s')\n    return s\n";
    assert!(hits(direct, "UT001").is_empty());
    // Both branches per-thread, or another target: still a finding.
    let both = "import threading\n\ndef storage(flag):\n    if flag:\n        s = threading.local()\n    else:\n        s = threading.local()\n    return s\n";
    assert_eq!(hits(both, "UT001"), [5, 7]);
    let other = "import contextvars\nimport threading\n\ndef f(flag):\n    if flag:\n        a = threading.local()\n    else:\n        b = contextvars.ContextVar('b')\n";
    assert_eq!(hits(other, "UT001"), [6]);
    // asgiref's sync.py: a class attribute holding per-thread bookkeeping stays a finding here.
    assert_eq!(hits("import threading\nclass SyncToAsync:\n    threadlocal = threading.local()\n", "UT001"), [3]);
}

#[test]
fn ut013_drops_writes_made_only_at_start_up_and_says_when_the_rest_run() {
    let files = [
        ("app/__init__.py", ""),
        (
            "app/registry.py",
            "class Registry:\n    items = {}\n\ndef register(name):\n    Registry.items = {name: 1}\n\nregister('x')\n",
        ),
        (
            "app/views.py",
            "from django.http import HttpResponse\n\nclass Seen:\n    last = None\n\ndef remember(user):\n    Seen.last = user\n\ndef profile(request):\n    remember(request.user)\n    return HttpResponse()\n",
        ),
    ];
    let sources = files
        .iter()
        .map(|(path, text)| SourceFile { path: (*path).into(), contents: Ok(text.as_bytes().to_vec()), on_disk: None })
        .collect();
    let options = ScanOptions { call_graph_rules: true, unknown_time_writes: true, ..Default::default() };
    let found: Vec<Finding> =
        scan_sources(sources, "", &options).findings.into_iter().filter(|f| f.rule == "UT013").collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "app/views.py");
    let runs_at = found[0].runs_at.as_ref().expect("runs at");
    assert_eq!(runs_at.at, scanner::finding::RunsAt::Request);
    assert_eq!(runs_at.path, ["app.views.profile", "app.views.remember"]);
}

use super::*;

/// When the line of `path` holding `marker` runs, in a package made of `files`.
fn runs_at(files: &[(&str, &str)], path: &str, marker: &str) -> RunsAtPath {
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(path, text)| SourceFile { path: (*path).into(), contents: Ok(text.as_bytes().to_vec()), on_disk: None })
        .collect();
    let namer = ModuleNamer::new(sources.iter().map(|f| f.path.as_str()));
    let members: Vec<&SourceFile> = sources.iter().collect();
    let kept = std::iter::once(path).collect();
    let graph = Graph::read(&members, &kept, &namer, u64::MAX);
    let text = files.iter().find(|(p, _)| *p == path).expect("the file").1;
    let line = text[..text.find(marker).expect("the marker")].matches('\n').count() as u32 + 1;
    // As `Graph::annotate` does for a finding in a function.
    graph.lazily_at(path, line).unwrap_or_else(|| graph.runs_at(graph.definition_at(path, line), path))
}

const INIT: (&str, &str) = ("app/__init__.py", "");

#[test]
fn a_write_in_a_view_helper_runs_at_request_time() {
    let files = [
        INIT,
        ("app/views.py", "from django.http import HttpResponse\nfrom .helpers import remember\n\ndef profile(request):\n    remember(request.user)\n"),
        ("app/helpers.py", "class Seen:\n    last = None\n\ndef remember(user):\n    Seen.last = user  # here\n"),
    ];
    let found = runs_at(&files, "app/helpers.py", "# here");
    assert_eq!(found.at, RunsAt::Request);
    assert_eq!(found.path, ["app.views.profile", "app.helpers.remember"]);
    assert_eq!(found.why, "a view (it takes the request)");
}

#[test]
fn a_write_in_ready_runs_at_start_up_and_in_a_task_in_a_worker() {
    let files = [
        INIT,
        (
            "app/apps.py",
            "from django.apps import AppConfig\nfrom .registry import register\n\nclass AppCfg(AppConfig):\n    def ready(self):\n        register()\n",
        ),
        ("app/registry.py", "class Registry:\n    items = []\n\ndef register():\n    Registry.items = [1]  # here\n"),
        (
            "app/tasks.py",
            "from celery import shared_task\nfrom .work import step\n\n@shared_task\ndef nightly():\n    step()\n",
        ),
        ("app/work.py", "def step():\n    step.count = 1  # here\n"),
    ];
    let ready = runs_at(&files, "app/registry.py", "# here");
    assert_eq!((ready.at, ready.why.as_str()), (RunsAt::StartUp, "AppConfig.ready"));
    assert_eq!(ready.path, ["app.apps.AppCfg.ready", "app.registry.register"]);
    let task = runs_at(&files, "app/work.py", "# here");
    assert_eq!((task.at, task.why.as_str()), (RunsAt::Worker, "a Celery task"));
}

#[test]
fn entry_points_of_each_kind() {
    let files = [
        INIT,
        (
            "app/views.py",
            "from rest_framework.viewsets import ModelViewSet\nfrom django.views import View\n\nclass Things(ModelViewSet):\n    def list(self, req):\n        pass  # viewset\n\nclass Page(View):\n    def get(self, req):\n        pass  # cbv\n\ndef listed(req):\n    pass  # urlconf\n",
        ),
        ("app/urls.py", "from django.urls import path\nfrom . import views\n\nurlpatterns = [\n    path('x/', views.listed),\n]\n"),
        (
            "app/middleware.py",
            "from django.conf import settings\n\nclass TimingMiddleware:\n    def __init__(self, get_response):\n        self.get_response = get_response  # init\n\n    def __call__(self, req):\n        pass  # call\n\ndef simple(get_response):\n    def middleware(r):\n        pass  # factory\n    return middleware\n",
        ),
        (
            "app/signals.py",
            "from django.dispatch import receiver\n\n@receiver(post_save)\ndef on_save(sender, **kwargs):\n    pass  # receiver\n\ndef connected(sender, **kwargs):\n    pass  # connected\n\npost_save.connect(connected)\n",
        ),
        ("app/templatetags/tags.py", "@register.filter\ndef shout(value):\n    pass  # filter\n"),
        ("app/context_processors.py", "def extra(r):\n    pass  # processor\n"),
        (
            "app/block.py",
            "class Poll(XBlock):\n    @XBlock.json_handler\n    def vote(self, data, suffix=''):\n        pass  # handler\n\n    def student_view(self, context=None):\n        pass  # xview\n",
        ),
        ("app/management/commands/rebuild.py", "class Command(BaseCommand):\n    def handle(self, *a):\n        pass  # command\n"),
        ("app/tests/test_views.py", "def test_it():\n    pass  # test\n"),
        ("app/api.py", "def public():\n    pass  # api\n"),
        ("app/client.py", "def send(request):\n    pass  # http client\n"),
    ];
    let cases = [
        ("app/views.py", "# viewset", RunsAt::Request, "a view"),
        ("app/views.py", "# cbv", RunsAt::Request, "a view"),
        ("app/views.py", "# urlconf", RunsAt::Request, "a URLconf target"),
        ("app/middleware.py", "# call", RunsAt::Request, "middleware"),
        ("app/middleware.py", "# factory", RunsAt::Request, "middleware"),
        ("app/signals.py", "# receiver", RunsAt::Request, "a signal receiver"),
        ("app/signals.py", "# connected", RunsAt::Request, "a signal receiver"),
        ("app/templatetags/tags.py", "# filter", RunsAt::Request, "a template tag or filter"),
        ("app/context_processors.py", "# processor", RunsAt::Request, "a context processor"),
        ("app/block.py", "# handler", RunsAt::Request, "an XBlock handler"),
        ("app/block.py", "# xview", RunsAt::Request, "an XBlock view"),
        ("app/management/commands/rebuild.py", "# command", RunsAt::StartUp, "a management command"),
        ("app/tests/test_views.py", "# test", RunsAt::Tests, "a test"),
        ("app/api.py", "# api", RunsAt::Unknown, "no caller in its package (called from outside it)"),
        // An HTTP client's `request` is no Django request.
        ("app/client.py", "# http client", RunsAt::Unknown, "no caller in its package (called from outside it)"),
    ];
    for (path, marker, at, why) in cases {
        let found = runs_at(&files, path, marker);
        assert_eq!((found.at, found.why.as_str()), (at, why), "{path} {marker}");
    }
    // Middleware's __init__ runs once, when the handler is built: not per request.
    assert_ne!(runs_at(&files, "app/middleware.py", "# init").at, RunsAt::Request);
}

#[test]
fn calls_resolve_through_base_classes_decorators_and_module_level_code() {
    let files = [
        INIT,
        (
            "app/base.py",
            "class Base:\n    def helper(self):\n        type(self).hits = 1  # method\n",
        ),
        ("app/views.py", "from django.views import View\nfrom .base import Base\n\nclass Page(View, Base):\n    def get(self, r):\n        self.helper()\n"),
        (
            "app/once.py",
            "import functools\n\ndef once(func):\n    @functools.wraps(func)\n    def wrapper():\n        func.result = func()  # wrapper\n    return wrapper\n",
        ),
        (
            "app/channels.py",
            "from .once import once\n\n@once\ndef load_channels():\n    return []\n\ndef send(message):\n    load_channels()\n",
        ),
        ("app/boot.py", "def configure():\n    configure.done = True  # boot\n\nconfigure()\n"),
        (
            "app/tasks_api.py",
            "class App:\n    def task(self, **opts):\n        def inner(fun):\n            App.made = fun  # factory\n            return fun\n        return inner\n",
        ),
        ("app/jobs.py", "from .tasks_api import app\n\n@app.task(bind=True)\ndef job():\n    pass\n"),
    ];
    let method = runs_at(&files, "app/base.py", "# method");
    assert_eq!(method.at, RunsAt::Request, "{method:?}");
    assert_eq!(method.path, ["app.views.Page.get", "app.base.Base.helper"]);
    // The wrapper runs whenever a function it decorates is called: `send`, the library's API.
    let wrapper = runs_at(&files, "app/once.py", "# wrapper");
    assert_eq!(wrapper.at, RunsAt::Unknown, "{wrapper:?}");
    assert_eq!(wrapper.path, ["app.channels.send", "app.channels.load_channels", "app.once.once.wrapper"]);
    // A decorator factory's inner decorator runs when it decorates (at import), not in place
    // of the task it makes.
    let factory = runs_at(&files, "app/tasks_api.py", "# factory");
    assert_eq!((factory.at, factory.why.as_str()), (RunsAt::StartUp, "a decorator (applied at import)"), "{factory:?}");
    let boot = runs_at(&files, "app/boot.py", "# boot");
    assert_eq!((boot.at, boot.why.as_str()), (RunsAt::StartUp, "called at import"));
}

#[test]
fn a_class_body_runs_at_import_however_the_class_is_used_later() {
    let files = [
        INIT,
        (
            "app/registry.py",
            "class Apps:\n    def __init__(self):\n        Apps.loaded = True  # init\n\napps = Apps()\n",
        ),
        ("app/models.py", "from .registry import Apps\n\nclass Migration:\n    class Meta:\n        apps = Apps()\n"),
        (
            "app/views.py",
            "from django.http import HttpResponse\n\ndef page(request):\n    form = make()\n    return form.Meta\n",
        ),
    ];
    let init = runs_at(&files, "app/registry.py", "# init");
    assert_eq!(init.at, RunsAt::StartUp, "{init:?}");
}

#[test]
fn a_name_too_common_to_follow_is_unknown() {
    let mut callers = String::new();
    for i in 0..=MAX_REFERENCES {
        callers.push_str(&format!("def c{i}(x):\n    x.save()\n"));
    }
    let files =
        [INIT, ("app/model.py", "class M:\n    def save(self):\n        M.n = 1  # save\n"), ("app/many.py", &callers)];
    let found = runs_at(&files, "app/model.py", "# save");
    assert_eq!(found.at, RunsAt::Unknown);
    assert!(found.why.contains("too common"), "{found:?}");
}

#[test]
fn a_function_handed_over_at_import_runs_when_its_holder_calls_it_not_at_import() {
    let files = [
        INIT,
        (
            "app/rules.py",
            "import rules\nimport crum\n\n@rules.predicate\ndef has_role(user, obj):\n    crum.seen = user  # here\n\nrules.add_perm('app.view', has_role)\n",
        ),
        ("app/boot.py", "def warm():\n    warm.done = True  # warm\n\nwarm()\n"),
    ];
    let registered = runs_at(&files, "app/rules.py", "# here");
    assert_eq!(registered.at, RunsAt::Unknown, "registered, then called by whoever checks the permission");
    assert_eq!(registered.why, "handed over at import (not called): runs whenever its holder calls it");
    // Called in module-level code, it runs at import.
    let called = runs_at(&files, "app/boot.py", "# warm");
    assert_eq!((called.at, called.why.as_str()), (RunsAt::StartUp, "called at import"));
}

#[test]
fn an_unknown_time_names_the_functions_nothing_in_the_package_calls() {
    let files = [
        INIT,
        (
            "app/api.py",
            "from .store import keep\n\ndef public(x):\n    return keep(x)\n\nclass Client:\n    def __init__(self):\n        keep(self)\n",
        ),
        ("app/store.py", "class Box:\n    items = None\n\ndef keep(x):\n    Box.items = x  # here\n"),
    ];
    let found = runs_at(&files, "app/store.py", "# here");
    assert_eq!(found.at, RunsAt::Unknown);
    // A constructor is called by its class's name.
    let mut ends = found.open_ends.clone();
    ends.sort();
    assert_eq!(ends, ["app.api.Client", "app.api.public"]);
    // Known times need no other code.
    let view = [INIT, ("app/views.py", "import django\n\ndef page(request):\n    page.n = 1  # here\n")];
    assert!(runs_at(&view, "app/views.py", "# here").open_ends.is_empty());
}

#[test]
fn a_function_only_its_tests_call_is_called_from_outside() {
    let files = [
        INIT,
        ("app/store.py", "class Box:\n    items = None\n\ndef keep(x):\n    Box.items = x  # here\n"),
        ("app/tests/test_store.py", "from app.store import keep\n\ndef test_keep():\n    keep(1)  # test\n"),
    ];
    let found = runs_at(&files, "app/store.py", "# here");
    assert_eq!((found.at, found.open_ends.as_slice()), (RunsAt::Unknown, &["app.store.keep".to_owned()][..]));
    // The test's own code is test code.
    assert_eq!(runs_at(&files, "app/tests/test_store.py", "# test").at, RunsAt::Tests);
}

#[test]
fn lazy_initialization_runs_once_per_process() {
    let files = [
        INIT,
        (
            "app/views.py",
            "from django.http import HttpResponse\nfrom .tasks import Task\nfrom .help import Expert\n\ndef page(request):\n    Task.get_app()\n    Expert.the_one()\n    return HttpResponse()\n",
        ),
        (
            "app/tasks.py",
            "class Task:\n    __bound__ = False\n    _app = None\n\n    @classmethod\n    def get_app(cls):\n        if not cls.__bound__:\n            cls.bind(1)\n        return cls._app\n\n    @classmethod\n    def bind(cls, app):\n        was_bound, cls.__bound__ = cls.__bound__, True\n        cls._app = app  # bind\n",
        ),
        (
            "app/help.py",
            "class Expert:\n    THE_ONE = None\n    seen = 0\n\n    @classmethod\n    def the_one(cls):\n        if cls.THE_ONE is None:\n            cls.THE_ONE = cls()  # made\n        cls.seen += 1  # counted\n        return cls.THE_ONE\n",
        ),
    ];
    // Called under `if not cls.__bound__:`, and it sets `__bound__`: once.
    let bind = runs_at(&files, "app/tasks.py", "# bind");
    assert_eq!(
        (bind.at, bind.why.as_str()),
        (RunsAt::StartUp, "once per process, on first use (`if not cls.__bound__:`)")
    );
    // Made under `if cls.THE_ONE is None:`: once; counted on every call: at request time.
    let made = runs_at(&files, "app/help.py", "# made");
    assert_eq!(
        (made.at, made.why.as_str()),
        (RunsAt::StartUp, "once per process, on first use (`if cls.THE_ONE is None:`)")
    );
    assert_eq!(runs_at(&files, "app/help.py", "# counted").at, RunsAt::Request);
}

#[test]
fn an_instance_guard_counts_only_for_an_object_made_once() {
    let lazy = "import os\n\nclass Settings:\n    def __init__(self):\n        os.environ['TZ'] = 'UTC'  # settings\n\nclass Lazy:\n    _wrapped = None\n\n    def get(self, name):\n        if self._wrapped is None:\n            self._setup()\n        return getattr(self._wrapped, name)\n\n    def _setup(self):\n        self._wrapped = Settings()\n\nsettings = Lazy()\n";
    let views = "from django.http import HttpResponse\nfrom .conf import settings\nfrom .cart import Cart\n\ndef page(request):\n    settings.get('DEBUG')\n    Cart().total()\n    return HttpResponse()\n";
    let cart = "class Pricing:\n    def __init__(self):\n        Pricing.last = self  # pricing\n\nclass Cart:\n    _prices = None\n\n    def total(self):\n        if self._prices is None:\n            self._load()\n        return 0\n\n    def _load(self):\n        self._prices = Pricing()\n";
    let files = [INIT, ("app/conf.py", lazy), ("app/views.py", views), ("app/cart.py", cart)];
    // `settings` is made once, at import: its lazy setup runs once per process.
    let found = runs_at(&files, "app/conf.py", "# settings");
    assert_eq!(
        (found.at, found.why.as_str()),
        (RunsAt::StartUp, "once per process, on first use (`if self._wrapped is None:`)")
    );
    // A cart is made per request: its "once" is once per request.
    assert_eq!(runs_at(&files, "app/cart.py", "# pricing").at, RunsAt::Request);
}

#[test]
fn a_base_class_guard_counts_when_the_method_it_runs_is_of_an_object_made_once() {
    // Django's shape: `LazyObject` guards `self._setup()`, which `LazySettings` (made once,
    // `settings = LazySettings()`) defines; another lazy object is made per request.
    let base = "class LazyObject:\n    _wrapped = None\n\n    def get(self, name):\n        if self._wrapped is None:\n            self._setup()\n        return getattr(self._wrapped, name)\n";
    let conf = "import os\nfrom .base import LazyObject\n\nclass Settings:\n    def __init__(self):\n        os.environ['TZ'] = 'UTC'  # settings\n\nclass LazySettings(LazyObject):\n    def _setup(self):\n        self._wrapped = Settings()\n\nsettings = LazySettings()\n";
    let user = "from .base import LazyObject\n\nclass Profile:\n    def __init__(self):\n        Profile.last = self  # profile\n\nclass LazyProfile(LazyObject):\n    def _setup(self):\n        self._wrapped = Profile()\n";
    let views = "from django.http import HttpResponse\nfrom .conf import settings\nfrom .user import LazyProfile\n\ndef page(request):\n    settings.get('DEBUG')\n    LazyProfile().get('name')\n    return HttpResponse()\n";
    let files = [INIT, ("app/base.py", base), ("app/conf.py", conf), ("app/user.py", user), ("app/views.py", views)];
    let found = runs_at(&files, "app/conf.py", "# settings");
    assert_eq!(
        (found.at, found.why.as_str()),
        (RunsAt::StartUp, "once per process, on first use (`if self._wrapped is None:`)")
    );
    assert_eq!(runs_at(&files, "app/user.py", "# profile").at, RunsAt::Request);
}

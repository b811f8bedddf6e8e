//! Where code starts running: the entry points a call graph walks back to, each kind with
//! the reason shown on a finding's path.
//!
//! Read from a definition's name, decorators, parameters and class, and from its module's
//! path — the conventions Django, Django REST framework, Celery and XBlock code is written in:
//!
//! | kind | runs at | how it is known |
//! | --- | --- | --- |
//! | a view | request | a parameter named `request` in a module using Django (which passes it only while serving one); `@api_view`, `@action`, `@login_required`, `@require_http_methods` & co.; a method of a class deriving from a `…View`/`…ViewSet` in a module using Django (other than `as_view`); a target of `path`/`re_path`/`url` in a URLconf ([`super`]) |
//! | middleware | request | in a module using Django: `__call__` and `process_*` of a class named or deriving from `…Middleware`; the inner function of a function-style middleware factory (`def m(get_response)`) |
//! | a signal receiver | request | `@receiver(...)` or `signal.connect(f)` (signals are sent from model saves and request handling) |
//! | a template tag or filter | request | `@register.filter`, `@register.simple_tag`, `@register.inclusion_tag`, `@register.tag` |
//! | a context processor | request | a function of a module named `context_processors` |
//! | an XBlock handler or view | request | `@XBlock.handler`, `@XBlock.json_handler`, a method named `…_view` of a class deriving from `XBlock` |
//! | a Celery task | worker | `@shared_task`, `@app.task`, `@periodic_task`; `run` of a class deriving from `…Task` |
//! | start-up | start-up | module-level code; `ready` of an `AppConfig`; settings modules; management commands; `setup.py`, `__main__.py`; `@click.command`/`@….group` command lines; lazy initialization, once per process on first use ([`super::lazy`]) |
//! | tests | tests | a test module ([`crate::source::is_test_module`]) |

use crate::finding::RunsAt;

use super::outline::{Def, Outline};

/// Why a definition is an entry point, and where it runs. `django`: its module uses Django
/// (only there does a parameter named `request` mean a view).
pub fn entry_point(def: &Def, outline: &Outline, path: &str, django: bool) -> Option<(RunsAt, &'static str)> {
    if crate::source::is_test_module(path) {
        return Some((RunsAt::Tests, "a test"));
    }
    if let Some(start_up) = start_up_module(path) {
        return Some((RunsAt::StartUp, start_up));
    }
    let class = def.parent.map(|p| &outline.defs[p]).filter(|p| p.is_class);
    if def.is_class {
        return None;
    }
    for decorator in def.decorator_names() {
        match decorator {
            "shared_task" | "task" | "periodic_task" => return Some((RunsAt::Worker, "a Celery task")),
            "receiver" => return Some((RunsAt::Request, "a signal receiver")),
            "api_view"
            | "action"
            | "login_required"
            | "require_http_methods"
            | "require_GET"
            | "require_POST"
            | "require_safe"
            | "csrf_exempt"
            | "ensure_csrf_cookie"
            | "permission_required" => return Some((RunsAt::Request, "a view")),
            "handler" | "json_handler" => return Some((RunsAt::Request, "an XBlock handler")),
            "command" | "group" if def.decorator_texts.iter().any(|t| !t.starts_with("register.")) => {
                return Some((RunsAt::StartUp, "a command line"))
            }
            _ => {}
        }
    }
    if def.decorator_texts.iter().any(|t| {
        ["register.filter", "register.simple_tag", "register.inclusion_tag", "register.tag"]
            .iter()
            .any(|tag| t.starts_with(tag))
    }) {
        return Some((RunsAt::Request, "a template tag or filter"));
    }
    if let Some(class) = class {
        let bases = class.signature.as_str();
        let derives =
            |suffix: &str| bases.split(',').any(|b| b.trim().split('(').next().unwrap_or("").ends_with(suffix));
        if def.name == "ready" && derives("AppConfig") {
            return Some((RunsAt::StartUp, "AppConfig.ready"));
        }
        if def.name == "run" && derives("Task") {
            return Some((RunsAt::Worker, "a Celery task"));
        }
        // Django's conventions, where Django is used (`celery`'s `ConfigurationView` is a
        // mapping, `aiohttp`'s `Middleware` a protocol).
        let middleware = class.name.ends_with("Middleware") || derives("Middleware") || derives("MiddlewareMixin");
        if django && middleware && (def.name == "__call__" || def.name.starts_with("process_")) {
            return Some((RunsAt::Request, "middleware"));
        }
        let view = derives("View") || derives("ViewSet") || derives("APIView");
        if django && view && !matches!(def.name.as_str(), "as_view" | "__init_subclass__") {
            return Some((RunsAt::Request, "a view"));
        }
        if derives("XBlock") && def.name.ends_with("_view") {
            return Some((RunsAt::Request, "an XBlock view"));
        }
    }
    if django && def.parameters().any(|p| p == "request") {
        return Some((RunsAt::Request, "a view (it takes the request)"));
    }
    // `def middleware(get_response): def inner(request): ...` is caught above by `request`;
    // an inner function under a factory taking `get_response` is middleware however it
    // names its parameter.
    if let Some(factory) = def.parent.map(|p| &outline.defs[p]).filter(|p| !p.is_class) {
        if factory.parameters().any(|p| p == "get_response") {
            return Some((RunsAt::Request, "middleware"));
        }
    }
    if path.rsplit('/').next().is_some_and(|file| file == "context_processors.py") && def.parent.is_none() {
        return Some((RunsAt::Request, "a context processor"));
    }
    None
}

/// Why code of the module at `path` runs only while a process starts (or a command runs).
pub fn start_up_module(path: &str) -> Option<&'static str> {
    let file = path.rsplit('/').next().unwrap_or(path);
    if path.contains("management/commands/") {
        return Some("a management command");
    }
    if file == "setup.py" || file == "__main__.py" {
        return Some("a command line");
    }
    if file == "settings.py" || path.split('/').any(|part| part == "settings") {
        return Some("settings");
    }
    None
}

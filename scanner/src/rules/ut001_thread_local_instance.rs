use crate::{
    analysis::ModuleFacts,
    rules::{
        declare_rule,
        names::{thread_critical_local, THREAD_LOCAL},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// Calls that create a thread-local namespace: `threading.local()` or
    /// `_threading_local.local()`, whatever name the module imported them under
    /// (`import threading as t`, `from threading import local as L`, ...), and
    /// `asgiref.local.Local(thread_critical=True)`, which asgiref keeps per thread rather than
    /// per context (its default `Local()` is context-local: rule UT100).
    ///
    /// ## Why it is a problem
    /// Under ASGI many requests share one event-loop thread, and one request can hop threads
    /// through `sync_to_async`. State stored on a `threading.local` therefore leaks between
    /// concurrent requests on the loop, or is missing when the request resumes on another
    /// thread.
    ///
    /// ## Example
    /// ```python
    /// import threading
    /// _thread_locals = threading.local()
    ///
    /// def get_current_request():
    ///     return getattr(_thread_locals, "request", None)
    /// ```
    ///
    /// ## Fix
    /// Use a `contextvars.ContextVar` per value, or `asgiref.local.Local`, which is built on
    /// context variables and works for both sync and async code:
    /// ```python
    /// from contextvars import ContextVar
    /// _current_request: ContextVar = ContextVar("current_request", default=None)
    ///
    /// def get_current_request():
    ///     return _current_request.get()
    /// ```
    ///
    /// ## References
    /// - [PEP 567 – Context Variables](https://peps.python.org/pep-0567/)
    /// - [asgiref.local](https://github.com/django/asgiref/blob/main/asgiref/local.py)
    /// - openedx/openedx-platform#38680
    pub const RULE = ("UT001", "thread-local-instance", Error, "`threading.local()` instance");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        if let Some(resolved) = facts.call_to(site.node, THREAD_LOCAL) {
            let message =
                format!("`{}()` keeps per-thread state, which leaks between requests under ASGI", resolved.qualname);
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        } else if let Some(resolved) = thread_critical_local(facts, site.node) {
            let message = format!(
                "`{}(thread_critical=True)` keeps its values per thread, like `threading.local()`: they leak between requests sharing the event loop's thread",
                resolved.qualname
            );
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        }
    }
}

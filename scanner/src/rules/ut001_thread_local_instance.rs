use crate::{
    analysis::{ModuleFacts, Site},
    fix::Applicability,
    rules::{
        declare_rule,
        edits::{can_import_asgiref, holder_of, import_name, used_only_as_namespace},
        names::{thread_critical_local, THREAD_LOCAL},
        Context, Emitter, FixSpec,
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
    /// ## Fix safety
    /// `--fix` replaces `threading.local()` held by a module-level name, a class attribute or
    /// an instance attribute (`self._local = threading.local()`) with `asgiref.local.Local()`
    /// — what Django itself did in 3.0 —, importing `Local` beside the module's other imports
    /// (into an existing `from asgiref.local import ...` when there is one); `threading`'s
    /// import goes too once nothing else uses it (rule UT012's fix). `Local()` keeps one
    /// namespace per context: each request's task sees its own attributes, and code run
    /// through `sync_to_async` / `async_to_sync` sees its caller's.
    ///
    /// - **Safe** when the holder is only used as an attribute namespace (`h.x`, `h.x = v`,
    ///   `del h.x`, `getattr`/`setattr`/`hasattr`/`delattr(h, ...)`, truth tests, `h is None`)
    ///   and the code can import `asgiref`: the project's `pyproject.toml`, `setup.py`,
    ///   `setup.cfg` or requirements files name Django or asgiref, or the module imports one.
    /// - **Unsafe** otherwise: the holder is passed around, compared or introspected
    ///   (`vars(h)`, `h.__dict__`), where `Local` behaves differently; or nothing shows the
    ///   code can import `asgiref`.
    /// - **None** for `Local(thread_critical=True)` (keeping values per thread is then the
    ///   point: move the state to a context variable by hand), for a `threading.local()` not
    ///   assigned to a name or attribute, or when the module already uses the name `Local` for
    ///   something else.
    ///
    /// ## References
    /// - [PEP 567 – Context Variables](https://peps.python.org/pep-0567/)
    /// - [asgiref.local](https://github.com/django/asgiref/blob/main/asgiref/local.py)
    /// - openedx/openedx-platform#38680
    pub const RULE = ("UT001", "thread-local-instance", Error, "`threading.local()` instance");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, context: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        if let Some(resolved) = facts.call_to(site.node, THREAD_LOCAL) {
            let message =
                format!("`{}()` keeps per-thread state, which leaks between requests under ASGI", resolved.qualname);
            match (resolved.conditional, fix(facts, site, context)) {
                (false, Some(fix)) => out.report_fixable(&RULE, *site, site.node, message, fix),
                _ => out.report(&RULE, *site, site.node, message, resolved.conditional),
            }
        } else if let Some(resolved) = thread_critical_local(facts, site.node) {
            let message = format!(
                "`{}(thread_critical=True)` keeps its values per thread, like `threading.local()`: they leak between requests sharing the event loop's thread",
                resolved.qualname
            );
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        }
    }
}

/// `threading.local()` → `Local()` from `asgiref.local` (see "Fix safety").
fn fix<'t>(facts: &ModuleFacts<'t>, site: &Site<'t>, context: &Context<'_>) -> Option<FixSpec> {
    let call = site.node;
    let arguments = call.child_by_field_id(crate::analysis::fields::arguments())?;
    if arguments.named_child_count() > 0 {
        return None;
    }
    let (holder, target) = holder_of(facts, call)?;
    let (local, mut edits) = import_name(facts, "asgiref.local", "Local")?;
    edits.push((call.start_byte(), call.end_byte(), format!("{local}()")));
    let safe = used_only_as_namespace(facts, holder, target) && can_import_asgiref(facts, context);
    Some(FixSpec {
        message: format!("Replace `{}` with asgiref's context-local `{local}()`", facts.text(call)),
        applicability: if safe { Applicability::Safe } else { Applicability::Unsafe },
        edits,
    })
}

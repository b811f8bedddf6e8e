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
            if implements_a_context_local(facts, site) {
                continue;
            }
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

/// True for the per-thread half of a context-local's implementation: `threading.local()`
/// assigned in one branch of an `if`/`else` whose other branch gives the same target
/// context-variable storage (a `ContextVar`, or an instance of a class of this module that
/// holds one) — asgiref's `Local(thread_critical=...)` choosing its storage. The choice is
/// its caller's; `Local(thread_critical=True)` is reported where it is made.
fn implements_a_context_local(facts: &ModuleFacts<'_>, site: &crate::analysis::Site<'_>) -> bool {
    // Only inside functions: looking upwards from a call costs a walk from the module's top,
    // which a module of thousands of top-level statements must not pay per call.
    if facts.enclosing_function(site.scope).is_none() {
        return false;
    }
    let Some(assignment) = site.node.parent().filter(|p| p.kind() == "assignment") else { return false };
    let Some(target) = assignment.child_by_field_name("left") else { return false };
    let target = facts.text(target);
    // assignment → expression_statement → block → if_statement (or else_clause → if_statement)
    let Some(block) = assignment.parent().and_then(|statement| statement.parent()) else { return false };
    let Some(branch) = block.parent() else { return false };
    let if_statement = match branch.kind() {
        "if_statement" => branch,
        "else_clause" | "elif_clause" => match branch.parent() {
            Some(parent) => parent,
            None => return false,
        },
        _ => return false,
    };
    let mut cursor = if_statement.walk();
    let branches: Vec<tree_sitter::Node<'_>> = if_statement
        .children(&mut cursor)
        .filter_map(|child| match child.kind() {
            "block" => Some(child),
            "else_clause" | "elif_clause" => child.child_by_field_name("body"),
            _ => None,
        })
        .filter(|other| *other != block)
        .collect();
    branches.iter().any(|other| {
        let mut cursor = other.walk();
        let statements: Vec<tree_sitter::Node<'_>> = other.named_children(&mut cursor).collect();
        statements.into_iter().filter_map(|s| s.named_child(0)).filter(|a| a.kind() == "assignment").any(|a| {
            let same_target = a.child_by_field_name("left").is_some_and(|t| facts.text(t) == target);
            let value = a.child_by_field_name("right").filter(|v| v.kind() == "call");
            same_target && value.is_some_and(|call| context_variable_storage(facts, call))
        })
    })
}

/// A call making context-variable storage: `ContextVar(...)`, or an instance of a class of
/// this module whose body makes one.
fn context_variable_storage(facts: &ModuleFacts<'_>, call: tree_sitter::Node<'_>) -> bool {
    if facts.call_to(call, &["contextvars.ContextVar"]).is_some() {
        return true;
    }
    let Some(callee) = facts.callee(call).filter(|c| c.kind() == "identifier") else { return false };
    let name = facts.text(callee);
    facts.class_scopes.iter().any(|(_, class)| {
        class.child_by_field_name("name").is_some_and(|n| facts.text(n) == name)
            && facts.calls.iter().any(|site| {
                class.start_byte() <= site.node.start_byte()
                    && site.node.end_byte() <= class.end_byte()
                    && facts.call_to(site.node, &["contextvars.ContextVar"]).is_some()
            })
    })
}

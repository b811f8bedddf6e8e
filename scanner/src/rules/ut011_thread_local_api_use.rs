use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// Calls of functions and classes that another scanned package exposes and that reach a
    /// thread-bound holder: for example `crum.get_current_request()` from django-crum, or
    /// `RequestCache(...)` from edx-django-utils — directly, or through a chain the package
    /// itself hides: `crum.get_current_user` sends a signal whose receiver (in another module,
    /// imported inside a function) reads `crum._thread_locals`; a module-level instance of a
    /// backed class; a class delegating to one; another dependency's backed API. Calls through
    /// a backed instance or class (`cache.get(...)`) count too. The message shows the chain.
    /// Which APIs qualify is learned by scanning those packages (the scan's API index), not
    /// hard-coded. A thread local that only records which event loop, thread, process,
    /// executor or task runs the code (every attribute written on it names one: asgiref's
    /// `SyncToAsync.threadlocal.main_event_loop`, `.main_event_loop_pid`, `.task_context`) backs
    /// none: it is a sync/async bridge's bookkeeping and exposes no other request's state (the
    /// bridge's pitfalls are UT008 and UT009). `Local(thread_critical=True)` does back APIs: it
    /// keeps whatever its users store per thread (a database connection, but also request
    /// data), and a thread is shared by every request on its event loop. Calls in test modules
    /// are not reported: a test runs in no ASGI server. Nor are calls made while the module is
    /// imported — in module-level code, a class body or a default value, not in a function or
    /// a lambda: they run before requests are served, so what they read is no request's state
    /// (`FLAG = WaffleFlag(...)` makes an object; its `FLAG.is_enabled()` calls in functions
    /// are where requests meet it). A decorator is reported wherever it stands: its wrapper
    /// runs at every call of what it decorates. (A module first imported inside a request is
    /// the exception the rule does not follow.)
    ///
    /// ## Why it is a problem
    /// The caller's own code may be free of thread locals, yet it inherits the dependency's
    /// problem: under ASGI the value it gets back may belong to another request. Each call
    /// site is safe only once the dependency has migrated, or once the caller stops using it.
    ///
    /// ## Example
    /// ```python
    /// from crum import get_current_request
    ///
    /// def audit(action):
    ///     request = get_current_request()
    /// ```
    ///
    /// ## Fix
    /// Upgrade to a release of the dependency that uses context variables, or pass the value
    /// explicitly (e.g. the request) instead of fetching it from ambient state.
    ///
    /// ## Fix safety
    /// No automatic fix: the call is right once the API it calls is migrated (fix the holder in its
    /// package, or bump to a release that did).
    ///
    /// ## References
    /// - openedx/openedx-platform#38680
    pub const RULE = ("UT011", "thread-local-api-use", Warning, "call of a thread-local-backed API of another package");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, context: &Context<'_>, out: &mut Emitter<'t>) {
    // A test runs in no ASGI server: its calls inherit nothing (it checks the API instead).
    if context.api_index.is_empty() || crate::source::is_test_module(facts.path) {
        return;
    }
    for site in &facts.calls {
        let Some(callee) = facts.callee(site.node) else { continue };
        for resolved in facts.resolve(callee) {
            // A package's own modules are not its users.
            if let Some(api) = context.api_index.lookup(&resolved.qualname) {
                if api
                    .package_module()
                    .is_some_and(|pkg| facts.module == pkg || facts.module.starts_with(&format!("{pkg}.")))
                {
                    continue;
                }
                if runs_at_import(site.node) {
                    break;
                }
                let message = format!(
                    "`{}` is backed by thread-local `{}` in {}{}",
                    resolved.qualname,
                    api.holder,
                    api.package,
                    chain_text(&api.chain)
                );
                out.report(&RULE, *site, site.node, message, resolved.conditional);
                break;
            }
        }
    }
}

/// `: a → signal s → b → holder`, when the API reaches its holder through something else.
fn chain_text(chain: &[String]) -> String {
    if chain.len() <= 2 {
        return String::new();
    }
    let steps: Vec<String> = chain
        .iter()
        .map(|step| match step.strip_prefix("signal ") {
            Some(signal) => format!("signal `{signal}`"),
            None => format!("`{step}`"),
        })
        .collect();
    format!(": {}", steps.join(" → "))
}

/// The call runs while its module is imported, and its result is no stand-in for code
/// that runs later: in no function's or lambda's body (module level, a class body, a default
/// value: those run where the definition is made), and not in a decorator — a decorator's
/// wrapper runs in place of the function it decorates, at every call of it
/// (`@permission_required(...)` on a view runs per request).
fn runs_at_import(call: tree_sitter::Node<'_>) -> bool {
    let mut in_parameters = false;
    let mut node = call.parent();
    while let Some(n) = node {
        match n.kind() {
            "decorator" => return false,
            "parameters" | "lambda_parameters" => in_parameters = true,
            "function_definition" | "lambda" if !in_parameters => return false,
            // A default value: evaluated where the definition is made, one level out.
            "function_definition" | "lambda" => in_parameters = false,
            _ => {}
        }
        node = n.parent();
    }
    true
}

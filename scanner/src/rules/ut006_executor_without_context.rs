use std::collections::HashSet;

use tree_sitter::Node;

use crate::{
    analysis::ModuleFacts,
    fix::Applicability,
    rules::{
        declare_rule,
        edits::context_run,
        names::{CONTEXT_TYPE, COPY_CONTEXT, THREAD_POOL},
        Context, Emitter, FixSpec,
    },
};

declare_rule! {
    /// ## What it finds
    /// Work handed to a thread pool without the caller's context: `loop.run_in_executor(...)`
    /// and `.submit(...)` / `.map(...)` on a `concurrent.futures.ThreadPoolExecutor`, unless the
    /// function passed is `ctx.run` (or `functools.partial(ctx.run, ...)`) of a
    /// `contextvars.Context`: a `copy_context()` result, a name assigned one in the same scope,
    /// or a parameter annotated `contextvars.Context`.
    ///
    /// ## Why it is a problem
    /// Executors do not copy context variables into their worker threads. Code that reads
    /// the current request, user or tracing span from a `ContextVar` sees defaults there,
    /// or worse, values left by an earlier task on the same worker.
    ///
    /// ## Example
    /// ```python
    /// await loop.run_in_executor(None, render_report, course_id)
    /// ```
    ///
    /// ## Fix
    /// Prefer `await asyncio.to_thread(render_report, course_id)` (copies the context), or
    /// pass the function through a copied context:
    /// ```python
    /// ctx = contextvars.copy_context()
    /// await loop.run_in_executor(None, ctx.run, render_report, course_id)
    /// ```
    ///
    /// ## Fix safety
    /// `--unsafe-fixes` rewrites `executor.submit(f, *a)` to
    /// `executor.submit(contextvars.copy_context().run, f, *a)` and
    /// `loop.run_in_executor(ex, f, *a)` to `loop.run_in_executor(ex,
    /// contextvars.copy_context().run, f, *a)` (adding `import contextvars`): a fresh copy per
    /// call. **Unsafe** always: the function now sees the caller's context variables. None for
    /// `executor.map` (one copied context cannot be entered by several threads at once).
    ///
    /// ## References
    /// - [asyncio.to_thread](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    pub const RULE = ("UT006", "executor-without-context", Warning, "executor call that drops the context");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let pools = pool_names(facts);
    for site in &facts.calls {
        let Some((method, receiver)) = facts.method_call(site.node) else { continue };
        let args = facts.positional_args(site.node);
        let (function, what) = match method {
            "run_in_executor" => (args.get(1).copied(), "run_in_executor"),
            "submit" | "map" if is_pool(facts, receiver, &pools) => (args.first().copied(), method),
            _ => continue,
        };
        if function.is_some_and(|f| runs_in_context(facts, f)) {
            continue;
        }
        let message = format!("`{}(...)` runs the function without the caller's context variables", what);
        // `map` calls the function once per item: one copied context cannot be entered by
        // several threads at once, so no mechanical fix there.
        match function.filter(|_| method != "map").and_then(|f| fix(facts, f)) {
            Some(fix) => out.report_fixable(&RULE, *site, site.node, message, fix),
            None => out.report(&RULE, *site, site.node, message, false),
        }
    }
}

/// `submit(f, *a)` → `submit(contextvars.copy_context().run, f, *a)`, and likewise the
/// function of `run_in_executor` (see "Fix safety").
fn fix(facts: &ModuleFacts<'_>, function: Node<'_>) -> Option<FixSpec> {
    let (run, mut edits) = context_run(facts)?;
    edits.push((function.start_byte(), function.start_byte(), format!("{run}, ")));
    Some(FixSpec {
        message: format!("Run `{}` in a copy of the caller's context (`{run}`)", facts.text(function)),
        applicability: Applicability::Unsafe,
        edits,
    })
}

/// Names (and `self.` attributes) this module binds to a `ThreadPoolExecutor`, including
/// `with ThreadPoolExecutor() as pool`.
fn pool_names<'t>(facts: &ModuleFacts<'t>) -> HashSet<&'t str> {
    let mut names = HashSet::new();
    let is_pool_call = |value: Node<'_>| value.kind() == "call" && facts.call_to(value, THREAD_POOL).is_some();
    for a in &facts.module_assignments {
        if is_pool_call(a.value) {
            names.insert(a.name);
        }
    }
    for a in &facts.attribute_assignments {
        if is_pool_call(a.value) {
            names.insert(a.attr);
        }
    }
    for site in &facts.calls {
        // `ThreadPoolExecutor(...) as pool` inside a with statement, or `pool = ThreadPoolExecutor()`.
        if facts.call_to(site.node, THREAD_POOL).is_none() {
            continue;
        }
        if let Some(parent) = site.node.parent() {
            let target = match parent.kind() {
                "as_pattern" => {
                    parent.child_by_field_id(crate::analysis::fields::alias()).and_then(|a| a.named_child(0))
                }
                "assignment" => parent.child_by_field_id(crate::analysis::fields::left()),
                _ => None,
            };
            if let Some(target) = target.filter(|t| t.kind() == "identifier") {
                names.insert(facts.text(target));
            }
        }
    }
    names
}

fn is_pool(facts: &ModuleFacts<'_>, receiver: Node<'_>, pools: &HashSet<&str>) -> bool {
    match receiver.kind() {
        "call" => facts.call_to(receiver, THREAD_POOL).is_some(),
        "identifier" => pools.contains(facts.text(receiver)),
        "attribute" => receiver
            .child_by_field_id(crate::analysis::fields::attribute())
            .is_some_and(|a| pools.contains(facts.text(a))),
        _ => false,
    }
}

/// `copy_context().run`, `ctx.run` or `functools.partial(ctx.run, ...)`, where `ctx` is a
/// `contextvars.Context` (see [`is_context`]): any other `x.run` — `self.run`, a thread's
/// own `run` — is a plain function that runs without the caller's context.
pub(crate) fn runs_in_context(facts: &ModuleFacts<'_>, function: Node<'_>) -> bool {
    match function.kind() {
        "attribute" => {
            let is_run = function
                .child_by_field_id(crate::analysis::fields::attribute())
                .is_some_and(|a| facts.text(a) == "run");
            let object = function.child_by_field_id(crate::analysis::fields::object());
            is_run && object.is_some_and(|o| is_context(facts, o))
        }
        "call" => {
            let is_partial = facts.callee(function).is_some_and(|c| facts.text(c).ends_with("partial"));
            is_partial && facts.positional_args(function).first().is_some_and(|f| runs_in_context(facts, *f))
        }
        _ => false,
    }
}

/// True when `expr` is a `contextvars.Context`: a `copy_context()` call, a name assigned one
/// in the same scope, a parameter annotated `contextvars.Context`, or a `self.<attr>` the
/// module assigns one.
fn is_context(facts: &ModuleFacts<'_>, expr: Node<'_>) -> bool {
    let copies = |value: Node<'_>| value.kind() == "call" && facts.call_to(value, COPY_CONTEXT).is_some();
    match expr.kind() {
        "call" => copies(expr),
        "identifier" => {
            let name = facts.text(expr);
            let scope = facts.scope_at(expr.start_byte());
            if scope == 0 {
                return facts.module_assignments.iter().any(|a| a.name == name && copies(a.value));
            }
            let Some(function) = facts.functions.iter().find(|(s, _)| *s == scope).map(|(_, node)| *node) else {
                return false;
            };
            annotated_context(facts, function, name) || assigned_in(facts, function, name, &copies)
        }
        "attribute" => expr.child_by_field_id(crate::analysis::fields::attribute()).is_some_and(|attr| {
            let attr = facts.text(attr);
            facts.attribute_assignments.iter().any(|a| a.attr == attr && copies(a.value))
        }),
        _ => false,
    }
}

/// A parameter `name: contextvars.Context` of `function`.
fn annotated_context(facts: &ModuleFacts<'_>, function: Node<'_>, name: &str) -> bool {
    let Some(parameters) = function.child_by_field_id(crate::analysis::fields::parameters()) else { return false };
    let mut cursor = parameters.walk();
    let found = parameters.named_children(&mut cursor).any(|p| {
        matches!(p.kind(), "typed_parameter" | "typed_default_parameter")
            && p.named_child(0).is_some_and(|n| facts.text(n) == name)
            && p.child_by_field_name("type")
                .and_then(|t| t.named_child(0).or(Some(t)))
                .is_some_and(|t| facts.resolve_to(t, CONTEXT_TYPE).is_some())
    });
    found
}

/// An assignment `name = <value>` in `function`'s own body (not in nested definitions) whose
/// value passes `wanted`.
fn assigned_in(facts: &ModuleFacts<'_>, function: Node<'_>, name: &str, wanted: &dyn Fn(Node<'_>) -> bool) -> bool {
    let Some(body) = function.child_by_field_id(crate::analysis::fields::body()) else { return false };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "assignment" {
            let left = node.child_by_field_id(crate::analysis::fields::left());
            let right = node.child_by_field_id(crate::analysis::fields::right());
            if left.is_some_and(|l| l.kind() == "identifier" && facts.text(l) == name) && right.is_some_and(wanted) {
                return true;
            }
        }
        let mut cursor = node.walk();
        stack.extend(
            node.named_children(&mut cursor)
                .filter(|c| !matches!(c.kind(), "function_definition" | "class_definition" | "lambda")),
        );
    }
    false
}

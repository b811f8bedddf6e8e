use crate::{
    analysis::ModuleFacts,
    rules::{
        declare_rule,
        names::{bases, THREAD_CLASSES},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// New threads: `threading.Thread(...)`, `threading.Timer(...)`, and classes deriving
    /// from `threading.Thread` or `threading.Timer` — unless the target is `ctx.run` of a
    /// `contextvars.Context` (a `copy_context()` result, a name assigned one in the same
    /// scope, a parameter annotated `contextvars.Context`). `target=self.run` is reported:
    /// a thread's own `run` method is not a context's.
    ///
    /// ## Why it is a problem
    /// A new thread starts with an empty context: context variables set by the request (the
    /// current user, request id, tracing span) are not visible in it, so code that moved from
    /// thread locals to `ContextVar`s silently sees defaults there.
    ///
    /// ## Example
    /// ```python
    /// threading.Thread(target=send_emails, args=(user_ids,)).start()
    /// ```
    ///
    /// ## Fix
    /// Run the target in a copy of the caller's context:
    /// ```python
    /// ctx = contextvars.copy_context()
    /// threading.Thread(target=ctx.run, args=(send_emails, user_ids)).start()
    /// ```
    /// or, in async code, use `asyncio.to_thread`, which copies the context.
    ///
    /// ## References
    /// - [contextvars.copy_context](https://docs.python.org/3/library/contextvars.html#contextvars.copy_context)
    pub const RULE = ("UT005", "thread-spawn", Warning, "new thread that does not inherit the context");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        if let Some(resolved) = facts.call_to(site.node, THREAD_CLASSES) {
            if is_context_run(facts, site.node) {
                continue;
            }
            let message =
                format!("`{}(...)` runs its target without the caller's context variables", resolved.qualname);
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        }
    }
    for site in &facts.classes {
        let Some(name) = site.node.child_by_field_id(crate::analysis::fields::name()) else { continue };
        for base in bases(site.node) {
            if let Some(resolved) = facts.resolve_to(base, THREAD_CLASSES) {
                let message = format!(
                    "class `{}` derives from `{}`: its threads start without the caller's context",
                    facts.text(name),
                    resolved.qualname
                );
                out.report(&RULE, *site, name, message, resolved.conditional);
                break;
            }
        }
    }
}

/// `Thread(target=ctx.run, ...)`: the target already runs in a copied context.
fn is_context_run(facts: &ModuleFacts<'_>, call: tree_sitter::Node<'_>) -> bool {
    facts
        .keyword_arg(call, "target")
        .is_some_and(|target| super::ut006_executor_without_context::runs_in_context(facts, target))
}

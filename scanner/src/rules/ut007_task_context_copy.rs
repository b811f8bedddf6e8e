use crate::{
    analysis::ModuleFacts,
    rules::{
        declare_rule,
        names::{CONTEXT_VARS, TASK_SPAWNERS},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// `asyncio.gather(...)`, `asyncio.create_task(...)`, `asyncio.ensure_future(...)`,
    /// `loop.create_task(...)` and `TaskGroup.create_task(...)` in a module that uses
    /// context variables (creates a `ContextVar` or imports `contextvars`).
    ///
    /// ## Why it is a problem
    /// Each task runs in a *copy* of the current context. Values a child task sets on a
    /// `ContextVar` never reach the parent: a signal handler that records something for the
    /// request, run through `gather`, loses it (Django ticket #36714). Code ported from
    /// thread locals often relies on that flow back.
    ///
    /// ## Example
    /// ```python
    /// _changed: ContextVar[list] = ContextVar("changed")
    ///
    /// async def save_all(items):
    ///     await asyncio.gather(*(save(i) for i in items))  # save() sets _changed
    /// ```
    ///
    /// ## Fix
    /// Return results from the child tasks instead of setting context variables in them, or
    /// store a mutable container in the `ContextVar` before spawning (children share it).
    ///
    /// ## Fix safety
    /// No automatic fix: whether changes made by the task should flow back is a design decision;
    /// return values instead of setting variables in the task.
    ///
    /// ## References
    /// - [Django ticket #36714](https://code.djangoproject.com/ticket/36714)
    /// - [asyncio: tasks and context](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    pub const RULE = ("UT007", "task-context-copy", Warning, "task spawn where context changes do not flow back");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let uses_context_vars = facts.imports.is_bound("contextvars")
        || facts.calls.iter().any(|c| facts.call_to(c.node, CONTEXT_VARS).is_some());
    if !uses_context_vars {
        return;
    }
    for site in &facts.calls {
        let spawned = match facts.call_to(site.node, TASK_SPAWNERS) {
            Some(resolved) => Some((resolved.qualname, resolved.conditional)),
            None => match facts.method_call(site.node) {
                Some(("create_task", _)) => Some(("create_task".to_owned(), false)),
                _ => None,
            },
        };
        if let Some((what, conditional)) = spawned {
            let message = format!("`{what}(...)` runs coroutines in a copy of the context: their ContextVar changes do not reach this code");
            out.report(&RULE, *site, site.node, message, conditional);
        }
    }
}

use crate::{
    analysis::ModuleFacts,
    rules::{
        declare_rule,
        names::{thread_critical_local, CONTEXT_VARS},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// Already migrated state: `contextvars.ContextVar(...)` and `asgiref.local.Local()` (not
    /// `Local(thread_critical=True)`, which is per thread: rule UT001).
    ///
    /// ## Why it matters
    /// Not a problem: these are the async-safe replacements. They are reported as notes so
    /// that progress counts what has been migrated, not only what is left.
    ///
    /// ## Example
    /// ```python
    /// _current_request = ContextVar("current_request", default=None)
    /// ```
    ///
    /// ## Fix
    /// Nothing to do. Check that values set inside `asyncio.gather`/`create_task` children are
    /// not expected back in the parent (rule UT007).
    ///
    /// ## Fix safety
    /// Nothing to fix: the state is already in context variables (information).
    ///
    /// ## References
    /// - [contextvars](https://docs.python.org/3/library/contextvars.html)
    pub const RULE = ("UT100", "contextvar", Note, "context variable (already async-safe)");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        // A thread-critical asgiref `Local` is thread-bound: rule UT001 reports it.
        if let Some(resolved) =
            facts.call_to(site.node, CONTEXT_VARS).filter(|_| thread_critical_local(facts, site.node).is_none())
        {
            let message = format!("`{}` is async-safe", resolved.qualname);
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        }
    }
}

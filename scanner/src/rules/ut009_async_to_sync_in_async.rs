use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, names::ASYNC_TO_SYNC, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// `async_to_sync(...)` called inside an `async def`.
    ///
    /// ## Why it is a problem
    /// `async_to_sync` runs a coroutine to completion from sync code. Called on a thread that
    /// already runs an event loop it raises `RuntimeError: You cannot use AsyncToSync in the
    /// same thread as an async event loop`, or, through nested helpers, deadlocks the loop.
    ///
    /// ## Example
    /// ```python
    /// async def notify(user):
    ///     async_to_sync(channel_layer.group_send)(f"user-{user.id}", {"type": "ping"})
    /// ```
    ///
    /// ## Fix
    /// Await the coroutine directly: `await channel_layer.group_send(...)`.
    ///
    /// ## Fix safety
    /// No automatic fix: the surrounding code must `await` the coroutine instead, which changes its
    /// callers.
    ///
    /// ## References
    /// - [asgiref: async_to_sync](https://github.com/django/asgiref#asynchronous-code)
    pub const RULE = ("UT009", "async-to-sync-in-async", Error, "`async_to_sync` inside `async def`");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        if !facts.in_async_function(site.scope) {
            continue;
        }
        if let Some(resolved) = facts.call_to(site.node, ASYNC_TO_SYNC) {
            let message = "`async_to_sync` inside a coroutine fails or deadlocks: await the coroutine instead";
            out.report(&RULE, *site, site.node, message, resolved.conditional);
        }
    }
}

use tree_sitter::Node;

use crate::{
    analysis::{ModuleFacts, Site},
    rules::{
        declare_rule,
        names::{bases, CONSUMER_BASES, SYNC_TO_ASYNC},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// `sync_to_async(..., thread_sensitive=False)` anywhere, and `sync_to_async` with the
    /// default `thread_sensitive=True` inside Django Channels consumers.
    ///
    /// ## Why it is a problem
    /// With `thread_sensitive=True` (the default) every such call in the process runs on one
    /// shared thread; outside a request that thread is global, so a busy websocket consumer
    /// serialises all of them. With `thread_sensitive=False` calls run on a pool, where Django
    /// database connections and thread-bound state must not be shared between threads.
    ///
    /// ## Example
    /// ```python
    /// class ChatConsumer(AsyncWebsocketConsumer):
    ///     async def receive(self, text_data):
    ///         await sync_to_async(save_message)(text_data)
    /// ```
    ///
    /// ## Fix
    /// In consumers use `channels.db.database_sync_to_async` for ORM work; use
    /// `thread_sensitive=False` only for code that touches no thread-bound state.
    ///
    /// ## Fix safety
    /// No automatic fix: `thread_sensitive` decides which thread the function runs on; choosing it
    /// needs to know what the function touches.
    ///
    /// ## References
    /// - [asgiref: sync_to_async](https://github.com/django/asgiref#synchronous-code--threads)
    /// - [Django: async safety](https://docs.djangoproject.com/en/stable/topics/async/)
    pub const RULE = ("UT008", "sync-to-async-thread-sensitive", Warning, "`sync_to_async` thread-sensitivity pitfall");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        let Some(resolved) = facts.call_to(site.node, SYNC_TO_ASYNC) else { continue };
        let sensitive = facts.keyword_arg(site.node, "thread_sensitive").map(|v| facts.text(v));
        match sensitive {
            Some("False") => {
                let message = "`sync_to_async(thread_sensitive=False)` runs on a thread pool: thread-bound state and DB connections must not cross threads";
                out.report(&RULE, *site, site.node, message, resolved.conditional);
            }
            Some("True") | None => {
                if in_consumer(facts, *site) {
                    let message = "`sync_to_async` in a consumer runs on the single shared sync thread: use `database_sync_to_async` or decide thread_sensitive explicitly";
                    out.report(&RULE, *site, site.node, message, resolved.conditional);
                }
            }
            Some(_) => {}
        }
    }
    // `@sync_to_async` used as a bare decorator on a consumer method.
    for site in &facts.decorators {
        let Some(expr) = site.node.named_child(0) else { continue };
        if matches!(expr.kind(), "identifier" | "attribute")
            && facts.resolve_to(expr, SYNC_TO_ASYNC).is_some()
            && in_consumer(facts, *site)
        {
            let message = "`@sync_to_async` in a consumer runs on the single shared sync thread";
            out.report(&RULE, *site, expr, message, false);
        }
    }
}

/// True when the site is inside a class deriving from a Channels consumer.
fn in_consumer(facts: &ModuleFacts<'_>, site: Site<'_>) -> bool {
    let Some(class_scope) = facts.enclosing_class(site.scope) else { return false };
    let Some(class): Option<Node<'_>> = facts.class_node_of_scope(class_scope) else { return false };
    bases(class).into_iter().any(|b| facts.resolve_to(b, CONSUMER_BASES).is_some())
}

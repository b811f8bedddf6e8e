use std::collections::HashSet;

use tree_sitter::Node;

use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, names::lock_creation, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// A thread lock taken inside an `async def`: `with <lock>:` or `<lock>.acquire()`, where
    /// the lock is created in the statement itself, held in a module-level name assigned a
    /// lock, or held in an attribute (`self._lock`) that this module assigns a lock.
    ///
    /// ## Why it is a problem
    /// Acquiring a thread lock blocks the thread, and in async code that thread is the event
    /// loop: every other request stalls until the lock is free. If the current holder is
    /// another coroutine on the same loop waiting for this one, the loop deadlocks.
    ///
    /// ## Example
    /// ```python
    /// _lock = threading.Lock()
    ///
    /// async def refresh():
    ///     with _lock:
    ///         await reload_config()
    /// ```
    ///
    /// ## Fix
    /// Use an `asyncio.Lock` (`async with lock:`) for state touched from coroutines, or move
    /// the locked section into a sync function run with `sync_to_async`.
    ///
    /// ## Fix safety
    /// No automatic fix: an `asyncio.Lock` is only right when every holder is a coroutine;
    /// otherwise move the blocking section into `sync_to_async` by hand.
    ///
    /// ## References
    /// - [asyncio.Lock](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Lock)
    pub const RULE = ("UT004", "lock-in-async", Error, "thread lock acquired inside `async def`");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let names: HashSet<&str> =
        facts.module_assignments.iter().filter(|a| lock_creation(facts, a.value).is_some()).map(|a| a.name).collect();
    let attributes: HashSet<&str> = facts
        .attribute_assignments
        .iter()
        .filter(|a| lock_creation(facts, a.value).is_some())
        .map(|a| a.attr)
        .collect();
    let is_lock = |expr: Node<'_>| -> bool {
        match expr.kind() {
            "call" => lock_creation(facts, expr).is_some(),
            "identifier" => names.contains(facts.text(expr)),
            "attribute" => expr
                .child_by_field_id(crate::analysis::fields::attribute())
                .is_some_and(|a| attributes.contains(facts.text(a))),
            _ => false,
        }
    };

    for site in &facts.withs {
        let is_async_with = site.node.child(0).is_some_and(|c| c.kind() == "async");
        if is_async_with || !facts.in_async_function(site.scope) {
            continue;
        }
        for item in with_items(site.node) {
            if is_lock(item) {
                let message = format!("`with {}` blocks the event loop while the lock is held", facts.text(item));
                out.report(&RULE, *site, item, message, false);
            }
        }
    }
    for site in &facts.calls {
        let Some(("acquire", receiver)) = facts.method_call(site.node) else { continue };
        if facts.in_async_function(site.scope) && is_lock(receiver) {
            let message = format!("`{}.acquire()` blocks the event loop", facts.text(receiver));
            out.report(&RULE, *site, site.node, message, false);
        }
    }
}

/// The context-manager expressions of a `with` statement (without their `as` targets).
fn with_items(with: Node<'_>) -> Vec<Node<'_>> {
    let mut items = Vec::new();
    let mut stack = vec![with];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "with_clause" => stack.push(child),
                "with_item" => {
                    if let Some(value) = child.child_by_field_id(crate::analysis::fields::value()) {
                        let expr =
                            if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
                        items.push(expr);
                    }
                }
                _ => {}
            }
        }
    }
    items.sort_by_key(|n| n.start_byte());
    items
}

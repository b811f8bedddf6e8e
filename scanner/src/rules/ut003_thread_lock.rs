use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, names::LOCK_FACTORIES, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// Creation of thread synchronisation primitives: `Lock`, `RLock`, `Condition`,
    /// `Semaphore`, `BoundedSemaphore`, `Event`, `Barrier` from `threading`, and
    /// `_thread.allocate_lock` (also through `six.moves._thread`).
    ///
    /// ## Why it is a problem
    /// A thread lock taken on the event loop blocks the whole loop, and every request on it,
    /// until it is released; if the holder awaits while holding it, the loop can deadlock.
    /// Each lock needs a decision: keep it (only ever taken in sync code, for short critical
    /// sections), or replace it with an `asyncio.Lock` in async code paths.
    ///
    /// ## Example
    /// ```python
    /// class EventAggregator:
    ///     def __init__(self):
    ///         self._lock = threading.RLock()
    /// ```
    ///
    /// ## Fix
    /// In async code use `asyncio.Lock` (per event loop); in sync code reached from async
    /// views keep critical sections short and never await while holding the lock.
    ///
    /// ## Fix safety
    /// No automatic fix: whether a lock is needed at all, or becomes an `asyncio.Lock`, depends on
    /// who takes it (threads, tasks or both); read the code that takes it.
    ///
    /// ## References
    /// - [asyncio synchronisation primitives](https://docs.python.org/3/library/asyncio-sync.html)
    pub const RULE = ("UT003", "thread-lock", Warning, "thread lock, semaphore, event or barrier");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let mut found = Vec::new();
    for site in &facts.calls {
        if let Some(resolved) = facts.call_to(site.node, LOCK_FACTORIES) {
            let message = format!("`{}()` blocks the event loop when taken from async code", resolved.qualname);
            found.push((site, message, resolved.conditional));
            continue;
        }
        // `def __init__(self, Lock=threading.Lock): self._lock = Lock()` (kombu's clocks): the
        // parameter's default is a lock class, and calling it makes a thread lock.
        let Some(callee) = facts.callee(site.node).filter(|c| c.kind() == "identifier") else { continue };
        let name = facts.text(callee);
        let Some(default) = facts.parameter_default(site.scope, name) else { continue };
        if let Some(resolved) = facts.resolve_to(default, LOCK_FACTORIES) {
            let message = format!(
                "`{name}()` (its default, `{}`) blocks the event loop when taken from async code",
                resolved.qualname
            );
            found.push((site, message, resolved.conditional));
        }
    }
    // One hazard, one finding: `Condition(Lock())` is the condition's lock.
    let arguments: std::collections::HashSet<usize> =
        found.iter().flat_map(|(site, _, _)| facts.positional_args(site.node)).map(|arg| arg.id()).collect();
    for (site, message, conditional) in found {
        if !arguments.contains(&site.node.id()) {
            out.report(&RULE, *site, site.node, message, conditional);
        }
    }
}

use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, names::thread_local_classes, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// Classes deriving from `threading.local` (under any import alias), directly or through
    /// another class of the same module.
    ///
    /// ## Why it is a problem
    /// Every instance of such a class is a thread-local namespace: under ASGI its attributes
    /// are shared by all requests running on the event-loop thread and lost when a request
    /// continues on another thread. Request caches built this way (e.g.
    /// `class _RequestCache(threading.local)`) return another request's data.
    ///
    /// ## Example
    /// ```python
    /// class _RequestCache(threading.local):
    ///     def __init__(self):
    ///         self.data = {}
    /// ```
    ///
    /// ## Fix
    /// Keep the state in a `ContextVar` (holding an immutable value or a per-request object
    /// created at request start), or derive from nothing and store instances in an
    /// `asgiref.local.Local`.
    ///
    /// ## References
    /// - [PEP 567 – Context Variables](https://peps.python.org/pep-0567/)
    pub const RULE = ("UT002", "thread-local-subclass", Error, "class deriving from `threading.local`");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let derived = thread_local_classes(facts);
    for site in &facts.classes {
        let Some(name) = site.node.child_by_field_id(crate::analysis::fields::name()) else { continue };
        let name_text = facts.text(name);
        if let Some((_, root)) = derived.iter().find(|(n, _)| n == name_text) {
            let message = format!("class `{name_text}` derives from `{}`: its instances are per-thread", root.qualname);
            out.report(&RULE, *site, name, message, root.conditional);
        }
    }
}

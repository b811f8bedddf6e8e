use tree_sitter::Node;

use crate::{
    analysis::ModuleFacts,
    fix::Applicability,
    rules::{
        declare_rule,
        edits::{can_import_asgiref, import_name},
        names::{bases, thread_local_classes, THREAD_LOCAL},
        Context, Emitter, FixSpec,
    },
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
    /// ## Fix safety
    /// `--fix` makes a class that derives from `threading.local` directly derive from
    /// `asgiref.local.Local` instead (imported beside the other imports).
    ///
    /// - **Safe** when the class defines no `__init__` and no attribute hooks, has no class
    ///   attributes, and the code can import `asgiref` (the project's metadata names Django or
    ///   asgiref, or the module imports one).
    /// - **Unsafe** when it has class attributes (`data = None`): they are found before
    ///   `Local` looks in the context, so a default that instances overwrite would hide their
    ///   values; when its methods use `self.__dict__` or `vars(self)` (the instance's own
    ///   dictionary, not `Local`'s storage); or when nothing shows the code can import
    ///   `asgiref`.
    /// - **None** when it defines `__init__` (`threading.local` runs it again in every thread
    ///   that first touches an instance, `Local` does not), `__getattr__`/`__setattr__`/
    ///   `__delattr__`, or derives from `threading.local` only through another class.
    ///
    /// ## References
    /// - [PEP 567 – Context Variables](https://peps.python.org/pep-0567/)
    pub const RULE = ("UT002", "thread-local-subclass", Error, "class deriving from `threading.local`");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, context: &Context<'_>, out: &mut Emitter<'t>) {
    let derived = thread_local_classes(facts);
    for site in &facts.classes {
        let Some(name) = site.node.child_by_field_id(crate::analysis::fields::name()) else { continue };
        let name_text = facts.text(name);
        if let Some((_, root)) = derived.iter().find(|(n, _)| n == name_text) {
            let message = format!("class `{name_text}` derives from `{}`: its instances are per-thread", root.qualname);
            match (root.conditional, fix(facts, site.node, context)) {
                (false, Some(fix)) => out.report_fixable(&RULE, *site, name, message, fix),
                _ => out.report(&RULE, *site, name, message, root.conditional),
            }
        }
    }
}

/// `class X(threading.local)` → `class X(Local)` from `asgiref.local`, for a class that derives
/// from it directly and defines no `__init__` (see "Fix safety").
fn fix(facts: &ModuleFacts<'_>, class: Node<'_>, context: &Context<'_>) -> Option<FixSpec> {
    let base = bases(class).into_iter().find(|b| facts.resolve_to(*b, THREAD_LOCAL).is_some())?;
    let body = class.child_by_field_id(crate::analysis::fields::body())?;
    let mut cursor = body.walk();
    let mut defines = |wanted: &[&str]| {
        body.named_children(&mut cursor).any(|statement| {
            let definition = match statement.kind() {
                "decorated_definition" => statement.child_by_field_name("definition"),
                _ => Some(statement),
            };
            definition.filter(|d| d.kind() == "function_definition").is_some_and(|d| {
                d.child_by_field_id(crate::analysis::fields::name()).is_some_and(|n| wanted.contains(&facts.text(n)))
            })
        })
    };
    // threading.local calls `__init__` again in every thread that first touches an instance;
    // asgiref's Local does not: with an `__init__`, or attribute hooks, the rewrite would not
    // keep behaviour, so none is offered.
    if defines(&["__init__", "__getattr__", "__getattribute__", "__setattr__", "__delattr__"]) {
        return None;
    }
    // A class attribute (`data = None`) is found before asgiref's `__getattr__` looks in the
    // context: a default that instances overwrite would hide their values.
    let class_attributes = {
        let mut cursor = body.walk();
        let found = body.named_children(&mut cursor).any(|statement| {
            statement.kind() == "expression_statement"
                && statement.named_child(0).is_some_and(|e| matches!(e.kind(), "assignment" | "augmented_assignment"))
        });
        found
    };
    let (local, mut edits) = import_name(facts, "asgiref.local", "Local")?;
    edits.push((base.start_byte(), base.end_byte(), local.clone()));
    // `self.__dict__` / `vars(self)` is the instance's own dictionary, not `Local`'s storage.
    let introspects = {
        let text = facts.text(body);
        text.contains("__dict__") || text.contains("vars(")
    };
    let safe = can_import_asgiref(facts, context) && !class_attributes && !introspects;
    Some(FixSpec {
        message: format!("Derive from asgiref's context-local `{local}` instead of `{}`", facts.text(base)),
        applicability: if safe { Applicability::Safe } else { Applicability::Unsafe },
        edits,
    })
}

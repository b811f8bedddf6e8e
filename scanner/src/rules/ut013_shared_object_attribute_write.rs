use std::collections::BTreeMap;

use tree_sitter::Node;

use crate::{
    analysis::{fields, AttributeWrite, ModuleFacts, ScopeId, ScopeKind},
    rules::{
        declare_rule,
        names::{changed_by, short_name},
        Context, Emitter,
    },
};

declare_rule! {
    /// ## What it finds
    /// State cached on objects every request shares, changed from inside a function: an
    /// assignment, augmented assignment, `del`, or in-place container change
    /// (`X.attr[k] = v`, `X.attr.append(...)`) of an attribute of
    /// - a module-level function or class, by name, or through `cls` in a classmethod,
    ///   `type(self)` or `self.__class__`;
    /// - the function a decorator wraps (its parameter), written by the wrapper at call time;
    /// - an imported module or a name imported from another module (`settings.FOO = ...`).
    ///
    /// One finding per object and attribute, at its first write, naming the functions that
    /// write it. Not reported: per-instance state on `self`, module-level code (it runs once,
    /// at import), a decorator's own body (it runs once per decorated function), a closure
    /// factory's parameter (the inner function neither calls it nor `@wraps` it: a per-call
    /// object, not a decorated function), test modules (they patch shared objects on purpose). A module-level *name* changed in place (`_cache[k] = v`) is rule
    /// UT010; a container that is a class's attribute (`Registry.items[k] = v`,
    /// `cls._registry.append(x)`) is reported here, with the class it belongs to.
    ///
    /// The rule needs the call graph: it runs where a scan finds when code runs
    /// (`--runs-at`, Unthread's own scans), and a write is a finding only when the function
    /// making it runs while a request is served or a task runs. One made only while the
    /// process starts (a registry filled at import, `AppConfig.ready`, a command) or a test
    /// runs is not. One whose time its own package cannot tell (a library function nobody in
    /// it calls) is shown with `--preview`; Unthread keeps it and counts it once another
    /// target's request- or worker-time code calls it.
    ///
    /// ## Why it is a problem
    /// A function object, a class and a module exist once per process: an attribute written
    /// on them while serving a request is seen by every other request. Under WSGI threads that
    /// raced; under ASGI the requests interleave on one thread at every `await`, so a value
    /// cached by one request (a result memoised on the function, a per-user setting on the
    /// class) is served to the next.
    ///
    /// ## Example
    /// ```python
    /// def cached(func):
    ///     def wrapper(*args):
    ///         if not hasattr(func, "_result"):
    ///             func._result = func(*args)   # shared by every caller of every request
    ///         return func._result
    ///     return wrapper
    /// ```
    ///
    /// ## Fix
    /// Keep request-scoped values in a `ContextVar` or on the request; memoise with
    /// `functools.lru_cache` (or Django's cache) keyed by every input that matters; when
    /// the value is process-wide and request-independent (set once, same for everyone),
    /// mark the finding *won't fix* with that reason.
    ///
    /// ## Fix safety
    /// No automatic fix: where request-time state should live instead depends on the object.
    ///
    /// ## References
    /// - openedx/edx-ace#379 (a decorator caching its result on the function object)
    /// - [Django: asynchronous support, async safety](https://docs.djangoproject.com/en/stable/topics/async/#async-safety)
    pub const RULE = ("UT013", "shared-object-attribute-write", Warning, "attribute of a shared object changed at request time");
}

/// What the written object is, for the message (and the key grouping the writes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shared {
    /// A module-level function (`true`: a class) of this module.
    Definition(String, bool),
    /// A class reached through `cls`, `type(self)` or `self.__class__`.
    OwnClass(String),
    /// The function a decorator wraps: (decorator, parameter).
    Wrapped(String, String),
    /// An imported module or name.
    Imported(String),
}

impl Shared {
    fn shown(&self) -> &str {
        match self {
            Shared::Definition(name, _) | Shared::OwnClass(name) | Shared::Imported(name) => name,
            Shared::Wrapped(_, parameter) => parameter,
        }
    }

    fn why(&self) -> String {
        match self {
            Shared::Definition(name, true) | Shared::OwnClass(name) => {
                format!("class `{name}` is one object shared by every request")
            }
            Shared::Definition(name, false) => format!("function `{name}` is one object shared by every request"),
            Shared::Wrapped(decorator, parameter) => {
                format!("`{parameter}` is the function `{decorator}` decorates, one object shared by every call")
            }
            Shared::Imported(name) => format!("`{name}` is imported: one object shared by every request"),
        }
    }
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    // A test sets up and patches shared objects on purpose, and never serves a request.
    if crate::source::is_test_module(facts.path) {
        return;
    }
    let mut written: BTreeMap<(Shared, &str), Vec<&AttributeWrite<'_>>> = BTreeMap::new();
    for write in &facts.attribute_writes {
        let Some(function) = facts.enclosing_function(write.site.scope) else { continue };
        if let Some(shared) = shared_object(facts, write.object, function) {
            written.entry((shared, write.attr)).or_default().push(write);
        }
    }
    let mut first_writes: Vec<(&AttributeWrite<'_>, String)> = Vec::new();
    for ((shared, attr), writes) in written {
        let message = format!(
            "`{}.{attr}` is changed in functions, by {}: {}",
            shared.shown(),
            changed_by(facts, writes.iter().map(|w| w.site.scope)),
            shared.why()
        );
        first_writes.push((writes[0], message));
    }
    for (write, message) in first_writes {
        out.report(&RULE, write.site, write.target, message, false);
    }
}

/// The shared object `object` (written inside `function`) is, if it is one.
fn shared_object(facts: &ModuleFacts<'_>, object: Node<'_>, function: ScopeId) -> Option<Shared> {
    match object.kind() {
        // `type(self).count += 1`
        "call" => {
            let callee = facts.callee(object)?;
            let args = facts.positional_args(object);
            let on_self = matches!(args.as_slice(), [arg] if first_parameter(facts, function).is_some_and(|p| p == facts.text(*arg)));
            (facts.text(callee) == "type" && on_self && !is_shadowed(facts, "type", function))
                .then(|| own_class(facts, function))
                .flatten()
        }
        // `self.__class__.count += 1`, or an attribute chain of an import (`a.b.settings.X`).
        "attribute" => {
            let attr = facts.text(object.child_by_field_id(fields::attribute())?);
            let base = object.child_by_field_id(fields::object())?;
            if attr == "__class__"
                && base.kind() == "identifier"
                && first_parameter(facts, function).is_some_and(|p| p == facts.text(base))
            {
                return own_class(facts, function);
            }
            imported(facts, object)
        }
        "identifier" => {
            let name = facts.text(object);
            if let Some(shared) = imported(facts, object) {
                return Some(shared);
            }
            if is_classmethod(facts, function) && first_parameter(facts, function) == Some(name) {
                return own_class(facts, function);
            }
            if let Some(shared) = wrapped_function(facts, name, function) {
                return Some(shared);
            }
            if is_shadowed(facts, name, function) {
                return None;
            }
            module_definition(facts, name)
        }
        _ => None,
    }
}

/// An imported module or name, where `expr` is.
fn imported(facts: &ModuleFacts<'_>, expr: Node<'_>) -> Option<Shared> {
    let resolved = facts.resolve(expr).into_iter().next()?;
    Some(Shared::Imported(resolved.qualname))
}

/// A module-level `def` or `class` named `name`.
fn module_definition(facts: &ModuleFacts<'_>, name: &str) -> Option<Shared> {
    // A module-level assignment of the same name rebinds it to something else.
    if facts.module_assignments.iter().any(|a| a.name == name) {
        return None;
    }
    let defined = |defs: &[(ScopeId, Node<'_>)]| {
        defs.iter().any(|(scope, node)| {
            facts.scopes[*scope].parent == Some(0)
                && node.child_by_field_id(fields::name()).is_some_and(|n| facts.text(n) == name)
        })
    };
    if defined(&facts.class_scopes) {
        Some(Shared::Definition(name.to_owned(), true))
    } else if defined(&facts.functions) {
        Some(Shared::Definition(name.to_owned(), false))
    } else {
        None
    }
}

/// `name` is a parameter of a decorator (a module-level function returning a function it
/// defines, which calls `name` or is decorated `@functools.wraps(name)`), written inside that
/// inner function: at every call of the decorated function. (A factory returning a closure
/// over a per-call object, grpc's `_receive_message(state, ...)`, neither calls nor wraps it.)
fn wrapped_function(facts: &ModuleFacts<'_>, name: &str, function: ScopeId) -> Option<Shared> {
    // The chain of functions from `function` out to the module-level one.
    let mut chain = vec![function];
    while let Some(parent) = facts.scopes[*chain.last()?].parent.filter(|p| *p != 0) {
        chain.push(parent);
    }
    let decorator = *chain.last()?;
    if chain.len() < 2 || facts.scopes[decorator].parent != Some(0) {
        return None; // written in the decorator's own body (once per decoration), or not in one
    }
    // Not rebound on the way (a nested function's own parameter of the same name).
    if chain[..chain.len() - 1].iter().any(|s| facts.scopes[*s].locals.contains(name)) {
        return None;
    }
    let node = facts.functions.iter().find(|(s, _)| *s == decorator).map(|(_, n)| *n)?;
    let parameters = node.child_by_field_id(fields::parameters())?;
    let mut cursor = parameters.walk();
    let is_parameter = parameters.named_children(&mut cursor).any(|p| parameter_name(facts, p) == Some(name));
    let inner_scope = chain[chain.len() - 2];
    let inner = facts.scopes[inner_scope].qualname.rsplit('.').next()?.to_owned();
    let wraps = is_parameter && returns_name(facts, node, &inner) && calls_or_wraps(facts, name, inner_scope);
    wraps.then(|| {
        let decorator_name = facts.scopes[decorator].qualname.rsplit('.').next().unwrap_or("").to_owned();
        Shared::Wrapped(decorator_name, name.to_owned())
    })
}

/// The function of scope `inner` (or one nested in it) calls `name`, or `inner` is decorated
/// `@wraps(name)` / `@functools.wraps(name)`.
fn calls_or_wraps(facts: &ModuleFacts<'_>, name: &str, inner: ScopeId) -> bool {
    let within = |mut scope: ScopeId| loop {
        if scope == inner {
            return true;
        }
        match facts.scopes[scope].parent {
            Some(parent) => scope = parent,
            None => return false,
        }
    };
    let calls = facts.calls.iter().any(|call| {
        within(call.scope) && facts.callee(call.node).is_some_and(|c| c.kind() == "identifier" && facts.text(c) == name)
    });
    let wrapped = || {
        let Some(node) = facts.functions.iter().find(|(s, _)| *s == inner).map(|(_, n)| *n) else { return false };
        let Some(decorated) = node.parent().filter(|p| p.kind() == "decorated_definition") else { return false };
        let mut cursor = decorated.walk();
        let found = decorated.named_children(&mut cursor).filter(|c| c.kind() == "decorator").any(|decorator| {
            let Some(call) = decorator.named_child(0).filter(|c| c.kind() == "call") else { return false };
            let wraps = facts.callee(call).is_some_and(|c| matches!(facts.text(c), "wraps" | "functools.wraps"));
            let args = facts.positional_args(call);
            wraps && args.first().is_some_and(|a| facts.text(*a) == name)
        });
        found
    };
    calls || wrapped()
}

/// `function` (a `def` node) has `return <name>` in its own body.
fn returns_name(facts: &ModuleFacts<'_>, function: Node<'_>, name: &str) -> bool {
    let Some(body) = function.child_by_field_id(fields::body()) else { return false };
    let mut cursor = body.walk();
    let found = body.named_children(&mut cursor).any(|statement| {
        statement.kind() == "return_statement"
            && statement.named_child(0).is_some_and(|value| value.kind() == "identifier" && facts.text(value) == name)
    });
    found
}

fn parameter_name<'t>(facts: &ModuleFacts<'t>, parameter: Node<'t>) -> Option<&'t str> {
    match parameter.kind() {
        "identifier" => Some(facts.text(parameter)),
        "typed_parameter" | "default_parameter" | "typed_default_parameter" => parameter
            .child_by_field_id(fields::name())
            .or_else(|| parameter.named_child(0))
            .filter(|n| n.kind() == "identifier")
            .map(|n| facts.text(n)),
        _ => None,
    }
}

/// The first parameter of the `def` that opened `function`.
fn first_parameter<'t>(facts: &ModuleFacts<'t>, function: ScopeId) -> Option<&'t str> {
    let node = facts.functions.iter().find(|(s, _)| *s == function).map(|(_, n)| *n)?;
    let parameters = node.child_by_field_id(fields::parameters())?;
    let first = parameters.named_child(0)?;
    parameter_name(facts, first)
}

/// `function` is a method decorated `@classmethod`.
fn is_classmethod(facts: &ModuleFacts<'_>, function: ScopeId) -> bool {
    let Some(node) = facts.functions.iter().find(|(s, _)| *s == function).map(|(_, n)| *n) else { return false };
    let Some(decorated) = node.parent().filter(|p| p.kind() == "decorated_definition") else { return false };
    let mut cursor = decorated.walk();
    let found = decorated
        .named_children(&mut cursor)
        .any(|c| c.kind() == "decorator" && c.named_child(0).is_some_and(|d| facts.text(d) == "classmethod"));
    found && facts.scopes[function].parent.is_some_and(|p| facts.scopes[p].kind == ScopeKind::Class)
}

/// The class whose method `function` is, as the class object shared by all requests (a
/// class defined inside a function is made per call: not shared).
fn own_class(facts: &ModuleFacts<'_>, function: ScopeId) -> Option<Shared> {
    let class = facts.scopes[function].parent.filter(|p| facts.scopes[*p].kind == ScopeKind::Class)?;
    let mut scope = facts.scopes[class].parent;
    while let Some(s) = scope {
        if matches!(facts.scopes[s].kind, ScopeKind::Function { .. }) {
            return None;
        }
        scope = facts.scopes[s].parent;
    }
    Some(Shared::OwnClass(short_name(facts, class)))
}

/// A function around the write binds `name` itself (not `global`).
fn is_shadowed(facts: &ModuleFacts<'_>, name: &str, function: ScopeId) -> bool {
    let mut scope = Some(function);
    while let Some(s) = scope.filter(|s| *s != 0) {
        let sc = &facts.scopes[s];
        if sc.globals.contains(name) {
            return false;
        }
        if matches!(sc.kind, ScopeKind::Function { .. }) && sc.locals.contains(name) {
            return true;
        }
        scope = sc.parent;
    }
    false
}

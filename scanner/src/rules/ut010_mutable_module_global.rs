use std::collections::BTreeMap;

use tree_sitter::Node;

use crate::{
    analysis::{ModuleAssignment, ModuleFacts, Mutation, MutationKind, ScopeId, ScopeKind},
    rules::{declare_rule, names::changed_by, Context, Emitter},
};

declare_rule! {
    /// ## What it finds
    /// Module-level state changed from inside functions: a module-level dict, list, set (or
    /// `defaultdict`, `OrderedDict`, `deque`, ...) mutated in place (`X[k] = v`, `del X[k]`,
    /// `X.append(...)`, `X.update(...)`, ...), or any module-level name reassigned through
    /// `global X`. One finding per global, at its definition, naming the functions that
    /// change it.
    ///
    /// ## Why it is a problem
    /// Module globals are shared by every request the process serves. Under WSGI threads that
    /// was already racy; under ASGI many requests interleave on one thread at every `await`,
    /// so request-specific data written there is read by other requests, and caches filled
    /// without locks are filled twice or torn.
    ///
    /// ## Example
    /// ```python
    /// _course_cache = {}
    ///
    /// def get_course(course_id):
    ///     if course_id not in _course_cache:
    ///         _course_cache[course_id] = load_course(course_id)
    ///     return _course_cache[course_id]
    /// ```
    ///
    /// ## Fix
    /// Request-scoped data belongs in a `ContextVar` or on the request. Process-wide caches
    /// are fine when every value is request-independent: then mark the finding *won't fix*
    /// with that reason, or use `functools.lru_cache` / Django's cache framework.
    ///
    /// ## Fix safety
    /// No automatic fix: a module global changed at request time needs a home per request (a
    /// context variable, the request object) chosen by hand.
    ///
    /// ## References
    /// - [Django: asynchronous support, async safety](https://docs.djangoproject.com/en/stable/topics/async/#async-safety)
    pub const RULE = ("UT010", "mutable-module-global", Warning, "module-level state mutated from a function");
}

/// Constructors of mutable containers, by the last part of their name.
const MUTABLE_CONSTRUCTORS: &[&str] = &[
    "dict",
    "list",
    "set",
    "defaultdict",
    "OrderedDict",
    "Counter",
    "deque",
    "WeakValueDictionary",
    "WeakKeyDictionary",
    "WeakSet",
    "ChainMap",
];

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    // name -> (its first module-level definition, the mutations that reach it)
    let mut globals: BTreeMap<&str, (Option<&ModuleAssignment<'_>>, Vec<&Mutation<'_>>)> = BTreeMap::new();
    for mutation in &facts.mutations {
        if !reaches_module_global(facts, mutation) {
            continue;
        }
        let definition = facts.module_assignments.iter().find(|a| a.name == mutation.name);
        let counts = match mutation.kind {
            MutationKind::Rebind => true,
            MutationKind::Item | MutationKind::Method => definition.is_some_and(|d| is_mutable(facts, d.value)),
        };
        if counts {
            let entry = globals.entry(mutation.name).or_insert((definition, Vec::new()));
            entry.1.push(mutation);
        }
    }
    for (name, (definition, mutations)) in globals {
        let message = format!(
            "module global `{name}` is changed in functions, by {}: shared by all concurrent requests",
            changed_by(facts, mutations.iter().map(|m| m.site.scope))
        );
        match definition {
            Some(def) => {
                let target: Node<'_> =
                    def.site.node.child_by_field_id(crate::analysis::fields::left()).unwrap_or(def.site.node);
                out.report(&RULE, def.site, target, message, false);
                out.relate_last(mutations.iter().map(|m| m.site.node));
            }
            None => out.report(&RULE, mutations[0].site, mutations[0].site.node, message, false),
        }
    }
}

/// True when the mutated name is the module's own global, not a local of an enclosing
/// function (Python decides by whether the function binds the name anywhere).
fn reaches_module_global(facts: &ModuleFacts<'_>, mutation: &Mutation<'_>) -> bool {
    let Some(function) = facts.enclosing_function(mutation.site.scope) else {
        // Import-time changes happen once, before any request.
        return false;
    };
    if facts.scopes[function].globals.contains(mutation.name) {
        return true;
    }
    let mut scope: Option<ScopeId> = Some(function);
    while let Some(s) = scope {
        let sc = &facts.scopes[s];
        if matches!(sc.kind, ScopeKind::Function { .. }) && sc.locals.contains(mutation.name) {
            return false;
        }
        scope = sc.parent;
    }
    mutation.kind == MutationKind::Rebind || facts.module_assignments.iter().any(|a| a.name == mutation.name)
}

fn is_mutable(facts: &ModuleFacts<'_>, value: Node<'_>) -> bool {
    match value.kind() {
        "dictionary" | "list" | "set" | "dictionary_comprehension" | "list_comprehension" | "set_comprehension" => true,
        "call" => facts.callee(value).is_some_and(|callee| {
            let name = facts.text(callee);
            let last = name.rsplit('.').next().unwrap_or(name);
            MUTABLE_CONSTRUCTORS.contains(&last)
        }),
        _ => false,
    }
}

//! What one module tells its package's API index: its thread-bound holders, its module-level
//! definitions with the names each uses, its signal receivers, module-level instances and
//! re-exports. Whether a definition is backed is decided for the whole package at once
//! ([`super::propagate`]): the holder may live in another module, reached through a chain.

use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use crate::{
    analysis::{fields, ModuleFacts, ScopeKind},
    rules::names::{is_thread_bound_local, thread_local_classes},
};

/// A module-level function or class, and the qualified names its body uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub qualname: String,
    pub kind: super::ApiKind,
    pub line: u32,
    /// Sorted, deduplicated; only names of this package or of the input index's packages.
    pub uses: Vec<String>,
}

/// What a module contributes to its package's index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleApis {
    /// (`package.local_name`, absolute imported name) for every import of a package's
    /// `__init__.py`: the names it re-exports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<(String, String)>,
    /// Thread-bound storage: module-level `threading.local()` (or thread-critical asgiref
    /// `Local`) instances, classes deriving from `threading.local`, class attributes holding
    /// one (`Cls.attr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<(String, u32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub definitions: Vec<Definition>,
    /// (signal, receiver): `@receiver(signal)` on a module-level function, or
    /// `signal.connect(function)`, for a signal of the same top-level package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<(String, String)>,
    /// (instance, class, line): module-level `name = Class(...)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<(String, String, u32)>,
    /// The definitions, receivers and instances were not collected ([`module_apis`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub definitions_omitted: bool,
}

impl ModuleApis {
    pub fn is_empty(&self) -> bool {
        self.exports.is_empty()
            && self.holders.is_empty()
            && self.definitions.is_empty()
            && self.receivers.is_empty()
            && self.instances.is_empty()
            && !self.definitions_omitted
    }
}

/// Words of the attributes a thread local keeps when it records which event loop, thread,
/// process, executor or task runs the code — the bookkeeping of a sync/async bridge
/// (asgiref's `SyncToAsync.threadlocal.main_event_loop`, `.main_event_loop_pid`,
/// `.task_context`) — rather than data of the request being served.
const BOOKKEEPING_WORDS: &[&str] = &["loop", "thread", "executor", "pid", "task"];

/// The attributes written on `holder` (`holder.attr = ...`, also through `self.holder`) in
/// `source`, read from its text (so that a partial parse decides as a full one): all of them
/// bookkeeping ([`BOOKKEEPING_WORDS`]), and at least one.
fn is_bookkeeping(source: &[u8], holder: &str) -> bool {
    use crate::prefilter::followed::is_identifier_byte;
    let mut written = 0;
    for at in memchr::memmem::find_iter(source, holder.as_bytes()) {
        if at > 0 && is_identifier_byte(source[at - 1]) {
            continue;
        }
        let rest = &source[at + holder.len()..];
        let Some(rest) = rest.strip_prefix(b".") else { continue };
        let len = rest.iter().take_while(|&&b| is_identifier_byte(b)).count();
        let after = rest[len..].iter().skip_while(|b| matches!(b, b' ' | b'\t')).copied().collect::<Vec<u8>>();
        let assigned = after.first() == Some(&b'=') && after.get(1) != Some(&b'=');
        if len == 0 || !assigned {
            continue;
        }
        let attr = String::from_utf8_lossy(&rest[..len]).to_lowercase();
        if !BOOKKEEPING_WORDS.iter().any(|word| attr.contains(word)) {
            return false;
        }
        written += 1;
    }
    written > 0
}

/// `django.dispatch.receiver` and its re-export.
const RECEIVER_DECORATORS: &[&str] = &["django.dispatch.receiver", "django.dispatch.dispatcher.receiver"];

/// The module's summary. `followed` holds the top-level package names whose uses matter
/// beyond this package's own (those of the input index: a chain may cross packages).
/// With `definitions` false, a module that holds no thread local and imports nothing of the
/// input index's packages is summarised without its definitions (`definitions_omitted`):
/// most modules never join a chain, and resolving every name they use is a fifth of a
/// scan; the search parses the few that do again.
pub fn module_apis(
    facts: &ModuleFacts<'_>,
    is_package_init: bool,
    followed: &[String],
    definitions: bool,
) -> ModuleApis {
    let mut result = ModuleApis::default();
    let base_package = if is_package_init {
        facts.module.to_owned()
    } else {
        facts.module.rsplit_once('.').map(|(p, _)| p.to_owned()).unwrap_or_default()
    };
    let module_names = facts.scopes[0]
        .locals
        .iter()
        .map(String::as_str)
        .chain(facts.module_assignments.iter().map(|a| a.name))
        .collect();
    let resolver = Resolver { facts, base_package: &base_package, module_names };
    // A chain stays inside one top-level package (a dependency's index excepted): another
    // package's signal receivers, instances or re-exports are not this package's API.
    let own_package = facts.module.split('.').next().unwrap_or("");
    let top_of = |qualname: &str| qualname.split('.').next().unwrap_or("").to_owned();
    let wanted = |qualname: &str| {
        let top = top_of(qualname);
        top == own_package || followed.contains(&top)
    };
    // Packages re-export their API from `__init__.py`; that is where callers import it from.
    if is_package_init {
        for import in facts.import_sites.iter().filter(|i| i.site.scope == 0) {
            if let Some(absolute) = absolute_name(&import.qualname, &base_package).filter(|a| top_of(a) == own_package)
            {
                result.exports.push((format!("{}.{}", facts.module, import.local), absolute));
            }
        }
    }

    let local_classes = thread_local_classes(facts);
    for assignment in &facts.module_assignments {
        let value = assignment.value;
        if value.kind() != "call" {
            continue;
        }
        let line = assignment.site.node.start_position().row as u32 + 1;
        let qualname = format!("{}.{}", facts.module, assignment.name);
        // An instance of a class deriving from `threading.local` is one too.
        let of_local_class =
            facts.callee(value).is_some_and(|c| local_classes.iter().any(|(name, _)| name == facts.text(c)));
        if is_thread_bound_local(facts, value) || of_local_class {
            result.holders.push((qualname, line));
        } else if let Some(class) =
            facts.callee(value).and_then(|callee| resolver.qualname_of(callee)).filter(|c| wanted(c))
        {
            result.instances.push((qualname, class, line));
        }
    }
    for (name, _) in &local_classes {
        if let Some((_, node)) = module_level(facts).find(|(n, _)| n == name) {
            result.holders.push((format!("{}.{name}", facts.module), node.start_position().row as u32 + 1));
        }
    }
    for (scope, _) in &facts.class_scopes {
        for a in facts.attribute_assignments.iter().filter(|a| a.site.scope == *scope) {
            if a.value.kind() == "call" && is_thread_bound_local(facts, a.value) {
                let line = a.site.node.start_position().row as u32 + 1;
                result.holders.push((format!("{}.{}", facts.scopes[*scope].qualname, a.attr), line));
            }
        }
    }
    // A thread local that only records which loop or thread runs exposes its users to no
    // other request's state: it backs no API (calling `sync_to_async` inherits nothing; its
    // pitfalls are rules UT008/UT009).
    result.holders.retain(|(holder, _)| !is_bookkeeping(facts.src, holder.rsplit('.').next().unwrap_or(holder)));

    // Another package's: a package's own modules are not users of its APIs in the input index.
    let imports_followed = facts.import_sites.iter().any(|import| {
        absolute_name(&import.qualname, &base_package)
            .map(|q| top_of(&q))
            .is_some_and(|top| top != own_package && followed.contains(&top))
    });
    if !definitions && result.holders.is_empty() && !imports_followed {
        result.definitions_omitted = true;
        return result;
    }
    // A class attribute made by a call in the class body (`history = HistoricalRecords()`) is
    // an instance of its own: it backs uses of that attribute (`Model.history`), not of the
    // class as a whole (`Model.objects.get(...)` never reaches it).
    let mut attribute_instances: Vec<usize> = Vec::new();
    for (scope, _) in facts.class_scopes.iter().filter(|(scope, _)| facts.scopes[*scope].parent == Some(0)) {
        for a in facts.attribute_assignments.iter().filter(|a| a.site.scope == *scope && a.value.kind() == "call") {
            if is_thread_bound_local(facts, a.value) {
                continue; // a holder (above)
            }
            attribute_instances.push(a.value.id());
            if let Some(class) =
                facts.callee(a.value).and_then(|callee| resolver.qualname_of(callee)).filter(|c| wanted(c))
            {
                let line = a.site.node.start_position().row as u32 + 1;
                result.instances.push((format!("{}.{}", facts.scopes[*scope].qualname, a.attr), class, line));
            }
        }
    }
    for (name, node) in module_level(facts) {
        let kind = if node.kind() == "class_definition" { super::ApiKind::Class } else { super::ApiKind::Function };
        let mut uses: Vec<String> =
            resolver.uses_except(node, &attribute_instances).into_iter().filter(|u| wanted(u)).collect();
        uses.sort_unstable();
        uses.dedup();
        let qualname = format!("{}.{name}", facts.module);
        for signal in resolver.receiver_signals(node).into_iter().filter(|s| top_of(s) == own_package) {
            result.receivers.push((signal, qualname.clone()));
        }
        result.definitions.push(Definition { qualname, kind, line: node.start_position().row as u32 + 1, uses });
    }
    // `signal.connect(handler)` anywhere in the module.
    for site in &facts.calls {
        let Some(("connect", signal)) = facts.method_call(site.node) else { continue };
        let Some(handler) = facts.positional_args(site.node).first().copied() else { continue };
        if let (Some(signal), Some(handler)) = (resolver.qualname_of(signal), resolver.qualname_of(handler)) {
            if top_of(&signal) == own_package {
                result.receivers.push((signal, handler));
            }
        }
    }
    result.holders.sort();
    result.holders.dedup();
    result
}

/// Module-level `def`s and `class`es (a decorated one is its definition), by name.
fn module_level<'f, 't>(facts: &'f ModuleFacts<'t>) -> impl Iterator<Item = (&'t str, Node<'t>)> + 'f {
    facts.functions.iter().chain(facts.class_scopes.iter()).filter_map(move |(scope, node)| {
        let parent = facts.scopes[*scope].parent?;
        if facts.scopes[parent].kind != ScopeKind::Module {
            return None;
        }
        let name = node.child_by_field_id(fields::name())?;
        Some((facts.text(name), *node))
    })
}

/// Turns expressions into the absolute qualified names they stand for.
struct Resolver<'f, 't> {
    facts: &'f ModuleFacts<'t>,
    base_package: &'f str,
    /// Names the module's own top-level code binds (definitions and assignments).
    module_names: rustc_hash::FxHashSet<&'f str>,
}

impl Resolver<'_, '_> {
    /// `expr` (a name or an attribute chain) as an absolute qualified name: through the
    /// module's imports where it stands (relative ones made absolute), or as a module-level
    /// name of this module.
    fn qualname_of(&self, expr: Node<'_>) -> Option<String> {
        let facts = self.facts;
        if let Some(resolved) = facts.resolve(expr).into_iter().next() {
            return absolute_name(&resolved.qualname, self.base_package);
        }
        let mut root = expr;
        while root.kind() == "attribute" {
            root = root.child_by_field_id(fields::object())?;
        }
        if root.kind() != "identifier" {
            return None;
        }
        let name = facts.text(root);
        // A module-level name, unless a function around the use binds its own.
        if !self.module_names.contains(name) {
            return None;
        }
        let mut scope = Some(facts.scope_at(expr.start_byte()));
        while let Some(s) = scope.filter(|s| *s != 0) {
            let sc = &facts.scopes[s];
            if matches!(sc.kind, ScopeKind::Function { .. }) && sc.locals.contains(name) && !sc.globals.contains(name) {
                return None;
            }
            scope = sc.parent;
        }
        Some(format!("{}.{}", facts.module, facts.text(expr)).replace(char::is_whitespace, ""))
    }

    /// Every qualified name `node`'s code uses (its decorators excepted: registering a
    /// function is not calling what it registers with), outside the nodes whose ids are in
    /// `skipped`.
    fn uses_except(&self, node: Node<'_>, skipped: &[usize]) -> Vec<String> {
        let mut uses = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if skipped.contains(&n.id()) {
                continue;
            }
            match n.kind() {
                "decorator" => continue,
                "attribute" => {
                    if let Some(q) = self.qualname_of(n) {
                        uses.push(q);
                        continue;
                    }
                }
                "identifier" => {
                    if let Some(q) = self.qualname_of(n) {
                        uses.push(q);
                    }
                    continue;
                }
                _ => {}
            }
            // A cursor gives each child's field in one pass (asking a node for the field of
            // its i-th child walks the children again, and blocks have thousands).
            let mut cursor = n.walk();
            if cursor.goto_first_child() {
                loop {
                    let child = cursor.node();
                    let field = cursor.field_name();
                    // Not the names a definition binds, nor `x.attr`'s attribute on its own.
                    let skipped = (matches!(field, Some("name" | "attribute")) && child.kind() == "identifier")
                        || field == Some("parameters");
                    if child.is_named() && !skipped {
                        stack.push(child);
                    }
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
            }
        }
        uses
    }

    /// The signals `@receiver(signal)` (or `@receiver([a, b])`) registers `definition` with.
    fn receiver_signals(&self, definition: Node<'_>) -> Vec<String> {
        let Some(decorated) = definition.parent().filter(|p| p.kind() == "decorated_definition") else {
            return Vec::new();
        };
        let mut signals = Vec::new();
        let mut cursor = decorated.walk();
        for decorator in decorated.named_children(&mut cursor).filter(|c| c.kind() == "decorator") {
            let Some(call) = decorator.named_child(0).filter(|c| c.kind() == "call") else { continue };
            if self.facts.call_to(call, RECEIVER_DECORATORS).is_none() {
                continue;
            }
            let Some(first) = self.facts.positional_args(call).first().copied() else { continue };
            let targets: Vec<Node<'_>> = match first.kind() {
                "list" | "tuple" => {
                    let mut c = first.walk();
                    first.named_children(&mut c).collect()
                }
                _ => vec![first],
            };
            signals.extend(targets.into_iter().filter_map(|t| self.qualname_of(t)));
        }
        signals
    }
}

/// `.utils.RequestCache` imported in package `pkg.cache` is `pkg.cache.utils.RequestCache`.
pub(super) fn absolute_name(qualname: &str, base_package: &str) -> Option<String> {
    if !qualname.starts_with('.') {
        return Some(qualname.to_owned());
    }
    let dots = qualname.chars().take_while(|c| *c == '.').count();
    let rest = &qualname[dots..];
    let mut parts: Vec<&str> = base_package.split('.').filter(|p| !p.is_empty()).collect();
    for _ in 1..dots {
        parts.pop()?;
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::absolute_name;

    #[test]
    fn relative_imports_become_absolute() {
        assert_eq!(absolute_name(".utils.RequestCache", "pkg.cache").as_deref(), Some("pkg.cache.utils.RequestCache"));
        assert_eq!(absolute_name("..x.y", "pkg.cache").as_deref(), Some("pkg.x.y"));
        assert_eq!(absolute_name("crum.get", "pkg").as_deref(), Some("crum.get"));
        assert_eq!(absolute_name("...x", "pkg"), None);
    }
}

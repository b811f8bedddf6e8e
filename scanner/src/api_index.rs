//! The thread-local API index behind rule UT011.
//!
//! Scanning a package records its public functions and classes that read or write a
//! module-level thread local (directly, or by calling another such function of the same
//! module), plus the names its packages re-export them under. Scans of other targets take
//! the merged indexes of their dependencies as input and report every call of those APIs.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use crate::{
    analysis::{text, ModuleFacts, ScopeKind},
    rules::names::{is_thread_bound_local, thread_local_classes},
};

pub const FORMAT_VERSION: u32 = 1;

/// A function or class whose use touches thread-local state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadLocalApi {
    /// Where callers find it, e.g. `crum.get_current_request`.
    pub qualname: String,
    /// The thread local it reaches, e.g. `crum._thread_locals`.
    pub holder: String,
    /// The package (distribution or repository) that defines it.
    pub package: String,
    /// Where it is defined, relative to that package's scan root.
    pub path: String,
    pub line: u32,
}

impl ThreadLocalApi {
    /// The top-level Python package the API lives in (`crum` for `crum.get_current_request`).
    pub fn package_module(&self) -> Option<&str> {
        self.qualname.split('.').next()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiIndex {
    pub version: u32,
    pub apis: BTreeMap<String, ThreadLocalApi>,
}

/// An empty index of the current format (a derived default would say format 0, and an empty
/// index from `ScanOptions::default()` would salt the cache differently from `new()`'s).
impl Default for ApiIndex {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiIndexError {
    #[error("not an Unthread API index: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("API index format {0} is not supported (expected {FORMAT_VERSION})")]
    Version(u32),
}

impl ApiIndex {
    pub fn new() -> Self {
        Self { version: FORMAT_VERSION, apis: BTreeMap::new() }
    }

    pub fn from_json(json: &str) -> Result<Self, ApiIndexError> {
        let index: ApiIndex = serde_json::from_str(json)?;
        if index.version != FORMAT_VERSION {
            return Err(ApiIndexError::Version(index.version));
        }
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an index always serialises")
    }

    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
    }

    pub fn len(&self) -> usize {
        self.apis.len()
    }

    pub fn get(&self, qualname: &str) -> Option<&ThreadLocalApi> {
        self.apis.get(qualname)
    }

    pub fn insert(&mut self, api: ThreadLocalApi) {
        self.apis.entry(api.qualname.clone()).or_insert(api);
    }

    /// Adds every API of `other` (dependencies' indexes feeding a repository scan).
    pub fn merge(&mut self, other: ApiIndex) {
        for (_, api) in other.apis {
            self.insert(api);
        }
    }

    /// Follows re-exports (`from .utils import RequestCache` in `pkg/__init__.py`) until no
    /// new name appears. `exports` holds (name in the re-exporting module, what it imports).
    pub fn add_reexports(&mut self, exports: &[(&str, &str)]) {
        // Only an import of an API, or of a name exported in turn, can ever add one: most
        // imports of a package's `__init__.py` are neither, and leave the search at once.
        let exported: std::collections::HashSet<&str, rustc_hash::FxBuildHasher> =
            exports.iter().map(|(exported, _)| *exported).collect();
        let candidates: Vec<(&str, &str)> = exports
            .iter()
            .copied()
            .filter(|(_, imported)| exported.contains(imported) || self.apis.contains_key(*imported))
            .collect();
        loop {
            let mut added = false;
            for &(exported, imported) in &candidates {
                if self.apis.contains_key(exported) {
                    continue;
                }
                if let Some(api) = self.apis.get(imported).cloned() {
                    self.apis.insert(exported.to_owned(), ThreadLocalApi { qualname: exported.to_owned(), ..api });
                    added = true;
                }
            }
            if !added {
                return;
            }
        }
    }
}

/// What one module contributes to its package's index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleApis {
    pub apis: Vec<ThreadLocalApi>,
    /// (`package.local_name`, absolute imported name) for every import of a package's
    /// `__init__.py`: the names it re-exports.
    pub exports: Vec<(String, String)>,
}

impl ModuleApis {
    pub fn is_empty(&self) -> bool {
        self.apis.is_empty() && self.exports.is_empty()
    }
}

/// Finds the module's thread-local-backed APIs and its imports (possible re-exports).
pub fn module_apis(facts: &ModuleFacts<'_>, package: &str, is_package_init: bool) -> ModuleApis {
    let mut result = ModuleApis::default();
    let base_package = if is_package_init {
        facts.module.to_owned()
    } else {
        facts.module.rsplit_once('.').map(|(p, _)| p.to_owned()).unwrap_or_default()
    };
    // Packages re-export their API from `__init__.py`; that is where callers import it from.
    if is_package_init {
        for import in &facts.import_sites {
            if let Some(absolute) = absolute_name(&import.qualname, &base_package) {
                result.exports.push((format!("{}.{}", facts.module, import.local), absolute));
            }
        }
    }

    // Holders: module-level thread locals, and classes that are or hold one.
    let local_classes = thread_local_classes(facts);
    let mut holders: BTreeMap<String, String> = BTreeMap::new(); // local name -> holder qualname
    for assignment in &facts.module_assignments {
        let value = assignment.value;
        if value.kind() != "call" {
            continue;
        }
        let is_local = is_thread_bound_local(facts, value)
            || facts.callee(value).is_some_and(|c| local_classes.iter().any(|(n, _)| n == facts.text(c)));
        if is_local {
            holders.insert(assignment.name.to_owned(), format!("{}.{}", facts.module, assignment.name));
        }
    }
    if holders.is_empty() && local_classes.is_empty() && !has_class_level_local(facts) {
        return result;
    }

    // Module-level functions and classes that reference a holder, then those that reference
    // an API found so far, until nothing changes.
    let mut definitions: Vec<(&str, Node<'_>)> = Vec::new();
    for (scope, node) in facts.functions.iter().chain(facts.class_scopes.iter()) {
        let parent = facts.scopes[*scope].parent;
        if parent.is_some_and(|p| facts.scopes[p].kind == ScopeKind::Module) {
            if let Some(name) = node.child_by_field_id(crate::analysis::fields::name()) {
                definitions.push((facts.text(name), *node));
            }
        }
    }
    let mut backed: BTreeMap<&str, (String, Node<'_>)> = BTreeMap::new();
    for (name, holder) in &local_classes {
        if let Some((def_name, node)) = definitions.iter().find(|(n, _)| n == name) {
            backed.insert(def_name, (holder.qualname.clone(), *node));
        }
    }
    for (scope, node) in &facts.class_scopes {
        for a in facts.attribute_assignments.iter().filter(|a| a.site.scope == *scope) {
            if a.value.kind() == "call" && is_thread_bound_local(facts, a.value) {
                if let Some(name) = node.child_by_field_id(crate::analysis::fields::name()).map(|n| facts.text(n)) {
                    let holder = format!("{}.{}", facts.scopes[*scope].qualname, a.attr);
                    backed.entry(name).or_insert((holder, *node));
                }
            }
        }
    }
    loop {
        let before = backed.len();
        for (name, node) in &definitions {
            if backed.contains_key(name) {
                continue;
            }
            // Holders in name order, then APIs in name order: the same holder every run.
            let used = referenced_names(*node, facts.src);
            let reached = holders
                .iter()
                .find(|(name, _)| used.contains(name.as_str()))
                .map(|(_, holder)| holder.clone())
                .or_else(|| backed.iter().find(|(name, _)| used.contains(**name)).map(|(_, (h, _))| h.clone()));
            if let Some(holder) = reached {
                backed.insert(name, (holder, *node));
            }
        }
        if backed.len() == before {
            break;
        }
    }
    for (name, (holder, node)) in backed {
        if name.starts_with('_') {
            continue;
        }
        result.apis.push(ThreadLocalApi {
            qualname: format!("{}.{name}", facts.module),
            holder,
            package: package.to_owned(),
            path: facts.path.to_owned(),
            line: node.start_position().row as u32 + 1,
        });
    }
    result
}

fn has_class_level_local(facts: &ModuleFacts<'_>) -> bool {
    facts.attribute_assignments.iter().any(|a| {
        facts.scopes[a.site.scope].kind == ScopeKind::Class
            && a.value.kind() == "call"
            && is_thread_bound_local(facts, a.value)
    })
}

/// Identifiers used anywhere inside `node` (iteratively: bodies can nest deeply).
fn referenced_names<'s>(node: Node<'_>, src: &'s [u8]) -> HashSet<&'s str> {
    let mut names = HashSet::new();
    let mut cursor = node.walk();
    let mut depth = 0usize;
    loop {
        let n = cursor.node();
        if n.kind() == "identifier" {
            names.insert(text(n, src));
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return names;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

/// `.utils.RequestCache` imported in package `pkg.cache` is `pkg.cache.utils.RequestCache`.
fn absolute_name(qualname: &str, base_package: &str) -> Option<String> {
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

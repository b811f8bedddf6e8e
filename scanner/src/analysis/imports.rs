//! Per-module name resolution: which local names stand for which fully qualified names.
//!
//! Only what the module itself binds is known: `import x`, `import x as y`,
//! `from x import y as z`, and module-level aliases such as `Lock = threading.Lock`. Relative
//! imports resolve to names starting with `.`, so they never match a standard-library name.
//! Each binding belongs to the scope whose code made it: an import inside a function binds
//! the name in that function only ([`crate::analysis::ModuleFacts::resolve`] applies Python's
//! scoping rules).

use rustc_hash::FxHashMap as HashMap;

use tree_sitter::Node;

use super::ScopeId;

/// A fully qualified name an expression may stand for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub qualname: String,
    /// Bound by an import inside try/except (a fallback): the construct may not be used.
    pub conditional: bool,
}

/// What a name is bound to, and in which scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub resolved: Resolved,
    pub scope: ScopeId,
}

#[derive(Clone, Debug, Default)]
pub struct Imports {
    bindings: HashMap<String, Vec<Binding>>,
}

impl Imports {
    pub fn bind(&mut self, local: &str, qualname: &str, conditional: bool, scope: ScopeId) {
        let binding = Binding { resolved: Resolved { qualname: canonical(qualname), conditional }, scope };
        let entry = self.bindings.entry(local.to_owned()).or_default();
        if !entry.contains(&binding) {
            entry.push(binding);
        }
    }

    /// Every name the module binds to an import, anywhere.
    pub fn bound_names(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(String::as_str)
    }

    /// True when the module binds `local` anywhere (at module level or in a function).
    pub fn is_bound(&self, local: &str) -> bool {
        self.bindings.contains_key(local)
    }

    /// Every qualified name `expr` (an identifier or a chain of attributes) may stand for;
    /// `visible` picks, from the scopes binding its first name, the one whose bindings apply
    /// where `expr` is (`None`: none does, the name is shadowed or unbound there).
    pub fn resolve(
        &self,
        expr: Node<'_>,
        src: &[u8],
        visible: impl Fn(&str, &[ScopeId]) -> Option<ScopeId>,
    ) -> Vec<Resolved> {
        let mut attributes = Vec::new();
        let mut node = expr;
        loop {
            match node.kind() {
                "identifier" => break,
                "attribute" => {
                    let (Some(object), Some(attr)) = (
                        node.child_by_field_id(crate::analysis::fields::object()),
                        node.child_by_field_id(crate::analysis::fields::attribute()),
                    ) else {
                        return Vec::new();
                    };
                    attributes.push(text(attr, src));
                    node = object;
                }
                "parenthesized_expression" => match node.named_child(0) {
                    Some(inner) => node = inner,
                    None => return Vec::new(),
                },
                _ => return Vec::new(),
            }
        }
        let name = text(node, src);
        let Some(bindings) = self.bindings.get(name) else {
            return Vec::new();
        };
        let scopes: Vec<ScopeId> = bindings.iter().map(|b| b.scope).collect();
        let Some(scope) = visible(name, &scopes) else {
            return Vec::new();
        };
        bindings
            .iter()
            .filter(|b| b.scope == scope)
            .map(|b| &b.resolved)
            .map(|b| {
                let mut qualname = b.qualname.clone();
                for attr in attributes.iter().rev() {
                    qualname.push('.');
                    qualname.push_str(attr);
                }
                Resolved { qualname: canonical(&qualname), conditional: b.conditional }
            })
            .collect()
    }
}

/// The first of `resolved` among `wanted`, preferring unconditional bindings.
pub fn first_of(resolved: Vec<Resolved>, wanted: &[&str]) -> Option<Resolved> {
    let mut hits: Vec<Resolved> = resolved.into_iter().filter(|r| wanted.contains(&r.qualname.as_str())).collect();
    hits.sort_by_key(|r| r.conditional);
    hits.into_iter().next()
}

/// Maps the names a module may use for a standard construct to one spelling.
fn canonical(qualname: &str) -> String {
    const PREFIXES: &[(&str, &str)] = &[
        // six and Django's vendored copy expose the Python 2 names of stdlib modules.
        ("six.moves._thread", "_thread"),
        ("django.utils.six.moves._thread", "_thread"),
        ("six.moves._dummy_thread", "_thread"),
        ("thread", "_thread"),
        ("concurrent.futures.thread", "concurrent.futures"),
        ("asyncio.tasks", "asyncio"),
        ("asyncio.taskgroups", "asyncio"),
    ];
    for (from, to) in PREFIXES {
        if qualname == *from {
            return (*to).to_owned();
        }
        if let Some(rest) = qualname.strip_prefix(from).and_then(|r| r.strip_prefix('.')) {
            return format!("{to}.{rest}");
        }
    }
    qualname.to_owned()
}

pub fn text<'s>(node: Node<'_>, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[node.byte_range()]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn python2_names_map_to_python3() {
        assert_eq!(canonical("six.moves._thread.allocate_lock"), "_thread.allocate_lock");
        assert_eq!(canonical("thread.allocate_lock"), "_thread.allocate_lock");
        assert_eq!(canonical("threading.local"), "threading.local");
        assert_eq!(canonical("threadingx.local"), "threadingx.local");
        assert_eq!(canonical("concurrent.futures.thread.ThreadPoolExecutor"), "concurrent.futures.ThreadPoolExecutor");
    }
}

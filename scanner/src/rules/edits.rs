//! Building blocks of the rules' fixes (`crate::fix`): importing a name, and telling whether
//! a holder of state is only ever used as an attribute namespace.

use tree_sitter::Node;

use crate::{analysis::ModuleFacts, fix, rules::ByteEdit};

/// Makes `name` from `module` available at module level: `Some((local name, edits))`. The
/// edits are empty when the module already binds it so (at module level); an existing
/// `from module import ...` statement gets `, name` added; else a new `from module import
/// name` line goes after the last top-level import. `None` when `name` is already taken by
/// something else.
pub fn import_name(facts: &ModuleFacts<'_>, module: &str, name: &str) -> Option<(String, Vec<ByteEdit>)> {
    let wanted = format!("{module}.{name}");
    if let Some(site) = facts.import_sites.iter().find(|i| i.qualname == wanted && i.site.scope == 0) {
        return Some((site.local.to_owned(), Vec::new()));
    }
    if facts.imports.is_bound(name) || facts.identifier_uses().contains_key(name) {
        return None;
    }
    let top_level_imports = top_level_imports(facts);
    // Merge into `from module import a, b` (not a parenthesised or starred one).
    let existing = top_level_imports.iter().find(|n| {
        n.kind() == "import_from_statement"
            && n.child_by_field_id(crate::analysis::fields::module_name()).is_some_and(|m| facts.text(m) == module)
            && !facts.text(**n).contains(['(', '*', '\\'])
    });
    if let Some(statement) = existing {
        return Some((name.to_owned(), vec![(statement.end_byte(), statement.end_byte(), format!(", {name}"))]));
    }
    let last = top_level_imports.last()?;
    let line_end = line_end(facts.src, last.end_byte());
    let ending = fix::line_ending(facts.src);
    Some((name.to_owned(), vec![(line_end, line_end, format!("{ending}from {module} import {name}"))]))
}

/// An expression for "run in a copy of the caller's context": `contextvars.copy_context().run`
/// (or `copy_context().run` where the module imports that name), with the `import contextvars`
/// it needs. `None` when `contextvars` names something else in the module.
pub fn context_run(facts: &ModuleFacts<'_>) -> Option<(String, Vec<ByteEdit>)> {
    let module_level = |qualname: &str| {
        facts.import_sites.iter().find(|i| i.qualname == qualname && i.site.scope == 0).map(|i| i.local)
    };
    if let Some(copy) = module_level("contextvars.copy_context") {
        return Some((format!("{copy}().run"), Vec::new()));
    }
    if let Some(module) = module_level("contextvars") {
        return Some((format!("{module}.copy_context().run"), Vec::new()));
    }
    if facts.imports.is_bound("contextvars") || facts.identifier_uses().contains_key("contextvars") {
        return None;
    }
    let last = top_level_imports(facts).last().copied()?;
    let at = line_end(facts.src, last.end_byte());
    let ending = fix::line_ending(facts.src);
    Some(("contextvars.copy_context().run".to_owned(), vec![(at, at, format!("{ending}import contextvars"))]))
}

fn top_level_imports<'t>(facts: &ModuleFacts<'t>) -> Vec<Node<'t>> {
    let mut cursor = facts.root.walk();
    facts
        .root
        .named_children(&mut cursor)
        .filter(|n| matches!(n.kind(), "import_statement" | "import_from_statement" | "future_import_statement"))
        .collect()
}

/// The offset of the end of the line holding `offset` (before its line break).
fn line_end(src: &[u8], offset: usize) -> usize {
    let end = src[offset..].iter().position(|&b| b == b'\n').map_or(src.len(), |i| offset + i);
    if end > offset && src[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Where state is held: a module-level (or class-level) name, or an attribute set on some
/// object (`self._local = ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder<'t> {
    Name(&'t str),
    Attribute(&'t str),
}

/// The holder an assignment `target = <value>` makes, when the value is its whole right side.
pub fn holder_of<'t>(facts: &ModuleFacts<'t>, value: Node<'t>) -> Option<(Holder<'t>, Node<'t>)> {
    let assignment = value.parent().filter(|p| p.kind() == "assignment")?;
    if assignment.child_by_field_id(crate::analysis::fields::right()) != Some(value) {
        return None;
    }
    let target = assignment.child_by_field_id(crate::analysis::fields::left())?;
    match target.kind() {
        "identifier" => Some((Holder::Name(facts.text(target)), target)),
        "attribute" => {
            let attribute = target.child_by_field_id(crate::analysis::fields::attribute())?;
            Some((Holder::Attribute(facts.text(attribute)), target))
        }
        _ => None,
    }
}

/// True when every use of `holder` in the module (other than `target`, its assignment) reads
/// or writes one of its attributes: `h.x`, `h.x = v`, `del h.x`, `getattr(h, ...)`,
/// `setattr(h, ...)`, `hasattr(h, ...)`, `delattr(h, ...)`, a truth test, `h is None`, or
/// `global h`. Anything else (passing it around, `vars(h)`, `h.__dict__`, comparing it,
/// subclassing) is not a namespace use, and a replacement could behave differently there.
pub fn used_only_as_namespace(facts: &ModuleFacts<'_>, holder: Holder<'_>, target: Node<'_>) -> bool {
    let mut ok = true;
    let mut stack = vec![facts.root];
    while let Some(node) = stack.pop() {
        if !ok {
            break;
        }
        let is_use = match holder {
            Holder::Name(name) => node.kind() == "identifier" && facts.text(node) == name,
            Holder::Attribute(name) => {
                node.kind() == "attribute"
                    && node
                        .child_by_field_id(crate::analysis::fields::attribute())
                        .is_some_and(|a| facts.text(a) == name)
            }
        };
        if is_use && node != target && !contains(target, node) {
            // `Cache._shared` for a class attribute `_shared`: the attribute expression is
            // the holder there.
            let expression = match node.parent() {
                Some(parent)
                    if parent.kind() == "attribute"
                        && parent.child_by_field_id(crate::analysis::fields::attribute()) == Some(node) =>
                {
                    parent
                }
                _ => node,
            };
            ok = namespace_use(facts, expression);
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    ok
}

fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

fn namespace_use(facts: &ModuleFacts<'_>, node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else { return false };
    match parent.kind() {
        // `h.x`: the holder is the object, and the attribute is not its `__dict__`.
        "attribute" => {
            parent.child_by_field_id(crate::analysis::fields::object()) == Some(node)
                && parent
                    .child_by_field_id(crate::analysis::fields::attribute())
                    .is_some_and(|a| !facts.text(a).starts_with("__"))
        }
        // `getattr(h, ...)` and its kin: the first argument.
        "argument_list" => {
            let first = parent.named_child(0);
            let callee = parent.parent().and_then(|call| call.child_by_field_id(crate::analysis::fields::function()));
            first == Some(node)
                && callee.is_some_and(|c| matches!(facts.text(c), "getattr" | "setattr" | "hasattr" | "delattr"))
        }
        "not_operator"
        | "if_statement"
        | "elif_clause"
        | "while_statement"
        | "boolean_operator"
        | "conditional_expression" => true,
        "comparison_operator" => {
            let text = facts.text(parent);
            text.contains(" is None") || text.contains(" is not None")
        }
        "global_statement" | "nonlocal_statement" => true,
        _ => false,
    }
}

/// True when the code can rely on `asgiref` being installed: the project depends on Django or
/// asgiref (its metadata says so), or the module imports one of them (Django depends on
/// asgiref).
pub fn can_import_asgiref(facts: &ModuleFacts<'_>, context: &crate::rules::Context<'_>) -> bool {
    context.asgiref_available
        || facts.import_sites.iter().any(|i| {
            let top = i.qualname.split('.').next().unwrap_or("");
            top == "django" || top == "asgiref"
        })
}

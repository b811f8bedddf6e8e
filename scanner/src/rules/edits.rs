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
    if facts.names(name) {
        return None;
    }
    let top_level_imports = facts.top_level_imports();
    // Merge into `from module import a, b` (not a parenthesised or starred one).
    let existing = top_level_imports.iter().find(|i| i.appendable && i.from_module.as_deref() == Some(module));
    if let Some(statement) = existing {
        return Some((name.to_owned(), vec![(statement.end, statement.end, format!(", {name}"))]));
    }
    let last = top_level_imports.last()?;
    let line_end = line_end(facts.src, last.end);
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
    if facts.names("contextvars") {
        return None;
    }
    let last = facts.top_level_imports().last()?;
    let at = line_end(facts.src, last.end);
    let ending = fix::line_ending(facts.src);
    Some(("contextvars.copy_context().run".to_owned(), vec![(at, at, format!("{ending}import contextvars"))]))
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
    use crate::analysis::uses::Position;
    let uses = facts.uses();
    let found = match holder {
        Holder::Name(name) => uses.identifiers.get(name),
        Holder::Attribute(name) => uses.attributes.get(name),
    };
    let (target_start, target_end) = (target.start_byte(), target.end_byte());
    // The outermost uses only (listed outer before inner): a use inside another (`h.h`) is
    // that one's business; the assignment's own target is not a use.
    let mut outer_end = 0;
    found
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|u| !(target_start <= u.start && u.end <= target_end))
        .filter(|u| {
            let nested = u.start < outer_end;
            if !nested {
                outer_end = u.end;
            }
            !nested
        })
        .all(|u| match &u.position {
            Position::AttributeObject { dunder } => !dunder,
            Position::FirstArgumentOf(callee) => matches!(&**callee, "getattr" | "setattr" | "hasattr" | "delattr"),
            Position::Condition | Position::IsNoneComparison | Position::Declaration => true,
            Position::Other => false,
        })
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

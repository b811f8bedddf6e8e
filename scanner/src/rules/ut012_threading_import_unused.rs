use tree_sitter::Node;

use crate::{
    analysis::{fields, ModuleFacts},
    fix::Applicability,
    rules::{declare_rule, ByteEdit, Context, Emitter, FixSpec},
};

declare_rule! {
    /// ## What it finds
    /// `import threading` (or `import threading as t`, or `from threading import ...`) whose
    /// names the module never uses.
    ///
    /// ## Why it is a problem
    /// Usually the leftover of a migration that already happened. It keeps the module on
    /// every "uses threading" list, so reviewers keep re-checking it; removing it makes
    /// progress visible.
    ///
    /// ## Example
    /// ```python
    /// import threading  # nothing below uses it any more
    /// from contextvars import ContextVar
    /// ```
    ///
    /// ## Fix
    /// Delete the import.
    ///
    /// ## Fix safety
    /// Safe: `--fix` deletes the unused name — the whole statement when nothing else is
    /// imported there (`pass` in its place when it is the only statement of its block), else
    /// just the name and its comma; the rest of the line, other statements and comments on
    /// lines of their own (a `# pylint: disable` above) are left as they are. Importing
    /// `threading` has no side effect a program could rely on (it is imported by the
    /// interpreter's own machinery anyway). Not offered when the name is re-exported
    /// (`__all__` names it, which counts as a use).
    pub const RULE = ("UT012", "threading-import-unused", Note, "unused `threading` import");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let is_threading = |q: &str| q == "threading" || q.starts_with("threading.");
    if !facts.import_sites.iter().any(|i| is_threading(&i.qualname)) {
        return;
    }
    let uses = facts.identifier_uses();
    // The names of a statement that go: threading's, unused.
    let unused = |local: &str, qualname: &str| is_threading(qualname) && !uses.contains_key(local);
    for import in &facts.import_sites {
        if !unused(import.local, &import.qualname) {
            continue;
        }
        let statement = import.site.node;
        let message = format!("`{}` is imported but never used", import.local);
        let names = imported_names(facts, statement);
        let removable = |(_, local): &(Node<'_>, &str)| {
            facts
                .import_sites
                .iter()
                .any(|i| i.site.node == statement && i.local == *local && unused(i.local, &i.qualname))
        };
        let fix = if names.iter().all(removable) {
            remove_statement(facts, statement)
        } else {
            match names.iter().position(|(_, local)| *local == import.local) {
                Some(index) => remove_name(&names, index),
                None => None,
            }
        };
        match fix {
            Some(edits) => out.report_fixable(
                &RULE,
                import.site,
                statement,
                message,
                FixSpec {
                    message: format!("Remove the unused import `{}`", import.local),
                    applicability: Applicability::Safe,
                    edits,
                },
            ),
            None => out.report(&RULE, import.site, statement, message, false),
        }
    }
}

/// Each imported name node of an import statement, with the name it binds.
fn imported_names<'t>(facts: &ModuleFacts<'t>, statement: Node<'t>) -> Vec<(Node<'t>, &'t str)> {
    let text = |n: Node<'t>| std::str::from_utf8(&facts.src[n.byte_range()]).unwrap_or("");
    let mut cursor = statement.walk();
    let from = statement.kind() == "import_from_statement";
    statement
        .children_by_field_id(fields::name_id(), &mut cursor)
        .map(|name| {
            let local = if name.kind() == "aliased_import" {
                name.child_by_field_id(fields::alias()).map(text).unwrap_or("")
            } else if from {
                text(name)
            } else {
                // `import a.b` binds `a`.
                text(name).split('.').next().unwrap_or("")
            };
            (name, local)
        })
        .collect()
}

/// Deletes the statement with its line (its indentation and line break), or puts `pass` in
/// its place when it is the only statement of its block. `None` when other code shares its
/// line (`import threading; x = 1`): removing just the statement there is left to a person.
fn remove_statement(facts: &ModuleFacts<'_>, statement: Node<'_>) -> Option<Vec<ByteEdit>> {
    let src = facts.src;
    let (start, end) = (statement.start_byte(), statement.end_byte());
    let line_start = src[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line_end = src[end..].iter().position(|&b| b == b'\n').map_or(src.len(), |i| end + i);
    let before = &src[line_start..start];
    let after = &src[end..line_end];
    let after_text = String::from_utf8_lossy(after);
    let after_is_comment_or_blank = after_text.trim().is_empty() || after_text.trim_start().starts_with('#');
    if !before.iter().all(|b| *b == b' ' || *b == b'\t') || !after_is_comment_or_blank {
        return None;
    }
    let only_statement = statement.parent().is_some_and(|block| {
        block.kind() == "block" && {
            let mut cursor = block.walk();
            block.named_children(&mut cursor).filter(|c| c.kind() != "comment").count() == 1
        }
    });
    if only_statement {
        return Some(vec![(start, line_end, "pass".to_owned())]);
    }
    // The line and its break (`\n` or `\r\n`).
    let next = if line_end < src.len() { line_end + 1 } else { line_end };
    Some(vec![(line_start, next, String::new())])
}

/// Deletes one name of a statement that imports several, with the comma that separates it.
fn remove_name(names: &[(Node<'_>, &str)], index: usize) -> Option<Vec<ByteEdit>> {
    let this = names.get(index)?.0;
    if let Some((next, _)) = names.get(index + 1) {
        Some(vec![(this.start_byte(), next.start_byte(), String::new())])
    } else {
        let (previous, _) = names.get(index.checked_sub(1)?)?;
        Some(vec![(previous.end_byte(), this.end_byte(), String::new())])
    }
}

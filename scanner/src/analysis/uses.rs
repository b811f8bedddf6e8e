//! Where each name of a module is used, and in what syntactic position: what the fixes ask
//! of every holder they consider ("is `_local` only ever used as `_local.x`?"). Collected
//! by one walk of the tree on first use and kept with the module's facts, so that a module
//! with 100,000 holders costs one walk, not one walk (and a `parent()` search from the root,
//! itself linear in the number of top-level statements) per holder.

use rustc_hash::FxHashMap as HashMap;
use tree_sitter::Node;

use super::{fields, ModuleFacts};

/// The uses of a module's names, in document order (an outer use before the uses inside it).
#[derive(Debug, Default)]
pub struct Uses {
    /// Every identifier, by its text.
    pub identifiers: HashMap<Box<str>, Vec<Use>>,
    /// Every attribute expression (`obj.name`), by its attribute's name.
    pub attributes: HashMap<Box<str>, Vec<Use>>,
}

/// One use: where, and the position of the expression it is (for an identifier that is the
/// attribute of `Cls.name`, that whole expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub start: usize,
    pub end: usize,
    pub position: Position,
}

/// Where an expression stands, as far as the fixes care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The object of an attribute access, `h.x` (`dunder`: `h.__dict__` and the like).
    AttributeObject {
        dunder: bool,
    },
    /// The first argument of a call to the named callee (`getattr(h, ...)`).
    FirstArgumentOf(Box<str>),
    /// Tested for truth: `not h`, `if h:`, `while h`, `h and ...`, `x if h else y`.
    Condition,
    /// Compared with `None` by identity.
    IsNoneComparison,
    /// Named by `global` or `nonlocal`.
    Declaration,
    Other,
}

/// The module's top-level import statements, in order (its top-level statements only: no
/// walk of the tree).
pub(super) fn top_level_imports(facts: &ModuleFacts<'_>) -> Vec<TopImport> {
    let mut cursor = facts.root.walk();
    facts
        .root
        .named_children(&mut cursor)
        .filter(|n| matches!(n.kind(), "import_statement" | "import_from_statement" | "future_import_statement"))
        .map(|n| TopImport {
            end: n.end_byte(),
            from_module: (n.kind() == "import_from_statement")
                .then(|| n.child_by_field_id(fields::module_name()).map(|m| Box::from(facts.text(m))))
                .flatten(),
            appendable: !facts.text(n).contains(['(', '*', '\\']),
        })
        .collect()
}

/// A top-level `import` / `from ... import ...` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopImport {
    pub end: usize,
    /// The module of a `from module import ...` statement.
    pub from_module: Option<Box<str>>,
    /// Whether names can be appended to it as `, name` (not parenthesised, starred or
    /// continued with a backslash).
    pub appendable: bool,
}

pub(super) fn collect(facts: &ModuleFacts<'_>) -> Uses {
    let mut uses = Uses::default();
    // The ancestors of the cursor's node, with the field each holds in its own parent.
    let mut ancestors: Vec<(Node<'_>, Option<&'static str>)> = Vec::new();
    let mut cursor = facts.root.walk();
    loop {
        let node = cursor.node();
        let field = cursor.field_name();
        match node.kind() {
            "identifier" => {
                let found = Use {
                    start: node.start_byte(),
                    end: node.end_byte(),
                    position: position(facts, node, field, &ancestors),
                };
                uses.identifiers.entry(facts.text(node).into()).or_default().push(found);
            }
            "attribute" => {
                if let Some(attribute) = node.child_by_field_id(fields::attribute()) {
                    let found = Use {
                        start: node.start_byte(),
                        end: node.end_byte(),
                        position: position(facts, node, field, &ancestors),
                    };
                    uses.attributes.entry(facts.text(attribute).into()).or_default().push(found);
                }
            }
            _ => {}
        }
        if cursor.goto_first_child() {
            ancestors.push((node, field));
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return uses;
            }
            ancestors.pop();
        }
    }
}

/// The position of `node` (with `field` in its parent, the last of `ancestors`).
fn position(
    facts: &ModuleFacts<'_>,
    node: Node<'_>,
    field: Option<&str>,
    ancestors: &[(Node<'_>, Option<&'static str>)],
) -> Position {
    let parent = |up: usize| ancestors.len().checked_sub(up).map(|i| ancestors[i]);
    // `Cls.name` for a holder `name`: the attribute expression is the use.
    let (expression, field, parent, grandparent) = match parent(1) {
        Some((attribute, attribute_field))
            if node.kind() == "identifier" && attribute.kind() == "attribute" && field == Some("attribute") =>
        {
            (attribute, attribute_field, parent(2).map(|p| p.0), parent(3).map(|p| p.0))
        }
        up => (node, field, up.map(|p| p.0), parent(2).map(|p| p.0)),
    };
    let Some(parent) = parent else { return Position::Other };
    match parent.kind() {
        "attribute" if field == Some("object") => Position::AttributeObject {
            dunder: parent.child_by_field_id(fields::attribute()).is_some_and(|a| facts.text(a).starts_with("__")),
        },
        "argument_list" if parent.named_child(0) == Some(expression) => {
            match grandparent.and_then(|call| call.child_by_field_id(fields::function())) {
                Some(callee) => Position::FirstArgumentOf(facts.text(callee).into()),
                None => Position::Other,
            }
        }
        "not_operator"
        | "if_statement"
        | "elif_clause"
        | "while_statement"
        | "boolean_operator"
        | "conditional_expression" => Position::Condition,
        "comparison_operator" => {
            let text = facts.text(parent);
            if text.contains(" is None") || text.contains(" is not None") {
                Position::IsNoneComparison
            } else {
                Position::Other
            }
        }
        "global_statement" | "nonlocal_statement" => Position::Declaration,
        _ => Position::Other,
    }
}

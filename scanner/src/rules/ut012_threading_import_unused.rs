use crate::{
    analysis::ModuleFacts,
    rules::{declare_rule, Context, Emitter},
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
    pub const RULE = ("UT012", "threading-import-unused", Note, "unused `threading` import");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    let is_threading = |q: &str| q == "threading" || q.starts_with("threading.");
    if !facts.import_sites.iter().any(|i| is_threading(&i.qualname)) {
        return;
    }
    let uses = facts.identifier_uses();
    for import in &facts.import_sites {
        if !is_threading(&import.qualname) || uses.contains_key(import.local) {
            continue;
        }
        let message = format!("`{}` is imported but never used", import.local);
        out.report(&RULE, import.site, import.site.node, message, false);
    }
}

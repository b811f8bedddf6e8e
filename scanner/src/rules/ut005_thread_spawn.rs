use tree_sitter::Node;

use crate::{
    analysis::ModuleFacts,
    fix::Applicability,
    rules::{
        declare_rule,
        edits::context_run,
        names::{bases, THREAD_CLASSES},
        Context, Emitter, FixSpec,
    },
};

declare_rule! {
    /// ## What it finds
    /// New threads: `threading.Thread(...)`, `threading.Timer(...)`, and classes deriving
    /// from `threading.Thread` or `threading.Timer` — unless the target is `ctx.run` of a
    /// `contextvars.Context` (a `copy_context()` result, a name assigned one in the same
    /// scope, a parameter annotated `contextvars.Context`). `target=self.run` is reported:
    /// a thread's own `run` method is not a context's.
    ///
    /// ## Why it is a problem
    /// A new thread starts with an empty context: context variables set by the request (the
    /// current user, request id, tracing span) are not visible in it, so code that moved from
    /// thread locals to `ContextVar`s silently sees defaults there.
    ///
    /// ## Example
    /// ```python
    /// threading.Thread(target=send_emails, args=(user_ids,)).start()
    /// ```
    ///
    /// ## Fix
    /// Run the target in a copy of the caller's context:
    /// ```python
    /// ctx = contextvars.copy_context()
    /// threading.Thread(target=ctx.run, args=(send_emails, user_ids)).start()
    /// ```
    /// or, in async code, use `asyncio.to_thread`, which copies the context.
    ///
    /// ## Fix safety
    /// `--unsafe-fixes` rewrites `threading.Thread(target=f, args=(a,))` to
    /// `threading.Thread(target=contextvars.copy_context().run, args=(f, a))` (adding `import
    /// contextvars`): the thread then runs `f` in a copy of the starting code's context.
    /// **Unsafe** always: that is the point, but the target now sees values it did not see
    /// before. None for a positional target, `args` that is not a tuple, list or name,
    /// `threading.Timer`, or a subclass of `Thread` (its `run` is the target: copy the context
    /// in `__init__` and run the body with `ctx.run` by hand).
    ///
    /// ## References
    /// - [contextvars.copy_context](https://docs.python.org/3/library/contextvars.html#contextvars.copy_context)
    pub const RULE = ("UT005", "thread-spawn", Warning, "new thread that does not inherit the context");
}

pub fn check<'t>(facts: &'t ModuleFacts<'t>, _: &Context<'_>, out: &mut Emitter<'t>) {
    for site in &facts.calls {
        if let Some(resolved) = facts.call_to(site.node, THREAD_CLASSES) {
            if is_context_run(facts, site.node) {
                continue;
            }
            let message =
                format!("`{}(...)` runs its target without the caller's context variables", resolved.qualname);
            let fixable = resolved.qualname == "threading.Thread" && !resolved.conditional;
            match fixable.then(|| fix(facts, site.node)).flatten() {
                Some(fix) => out.report_fixable(&RULE, *site, site.node, message, fix),
                None => out.report(&RULE, *site, site.node, message, resolved.conditional),
            }
        }
    }
    for site in &facts.classes {
        let Some(name) = site.node.child_by_field_id(crate::analysis::fields::name()) else { continue };
        for base in bases(site.node) {
            if let Some(resolved) = facts.resolve_to(base, THREAD_CLASSES) {
                let message = format!(
                    "class `{}` derives from `{}`: its threads start without the caller's context",
                    facts.text(name),
                    resolved.qualname
                );
                out.report(&RULE, *site, name, message, resolved.conditional);
                break;
            }
        }
    }
}

/// `Thread(target=ctx.run, ...)`: the target already runs in a copied context.
fn is_context_run(facts: &ModuleFacts<'_>, call: tree_sitter::Node<'_>) -> bool {
    facts
        .keyword_arg(call, "target")
        .is_some_and(|target| super::ut006_executor_without_context::runs_in_context(facts, target))
}

/// `Thread(target=f, args=(a, b))` → `Thread(target=contextvars.copy_context().run, args=(f,
/// a, b))` (see "Fix safety"). Only a keyword `target`, and `args` absent, a tuple or list
/// written out, or a name (`args=(f, *a)`).
fn fix(facts: &ModuleFacts<'_>, call: Node<'_>) -> Option<FixSpec> {
    let target = facts.keyword_arg(call, "target")?;
    let function = facts.text(target);
    let (run, mut edits) = context_run(facts)?;
    edits.push((target.start_byte(), target.end_byte(), run.clone()));
    match facts.keyword_arg(call, "args") {
        None => edits.push((target.end_byte(), target.end_byte(), format!(", args=({function},)"))),
        Some(args) => match args.kind() {
            "tuple" | "list" => {
                let inner = facts.text(args);
                let body = inner[1..inner.len() - 1].trim();
                let joined = if body.is_empty() { format!("({function},)") } else { format!("({function}, {body})") };
                edits.push((args.start_byte(), args.end_byte(), joined));
            }
            "identifier" | "attribute" => {
                edits.push((args.start_byte(), args.end_byte(), format!("({function}, *{})", facts.text(args))))
            }
            _ => return None,
        },
    }
    // A target placed after `args` would put the edits out of order: keep them sorted.
    edits.sort_by_key(|e| e.0);
    Some(FixSpec {
        message: format!("Run the thread's target `{function}` in a copy of the caller's context (`{run}`)"),
        applicability: Applicability::Unsafe,
        edits,
    })
}

//! Qualified names the rules look for, and helpers several rules share.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::analysis::{ModuleFacts, Resolved};

pub const THREAD_LOCAL: &[&str] = &["threading.local", "_threading_local.local"];

pub const ASGIREF_LOCAL: &[&str] = &["asgiref.local.Local"];

/// `asgiref.local.Local(thread_critical=True)` (or `Local(True)`): asgiref then keeps the
/// values per thread, not per context — a thread local under another name.
pub fn thread_critical_local(
    facts: &ModuleFacts<'_>,
    call: tree_sitter::Node<'_>,
) -> Option<crate::analysis::Resolved> {
    let resolved = facts.call_to(call, ASGIREF_LOCAL)?;
    let flag = facts.keyword_arg(call, "thread_critical").or_else(|| facts.positional_args(call).first().copied())?;
    (facts.text(flag) == "True").then_some(resolved)
}

/// A call creating thread-bound storage: `threading.local()` or a thread-critical asgiref
/// `Local`.
pub fn is_thread_bound_local(facts: &ModuleFacts<'_>, call: tree_sitter::Node<'_>) -> bool {
    facts.call_to(call, THREAD_LOCAL).is_some() || thread_critical_local(facts, call).is_some()
}

pub const LOCK_FACTORIES: &[&str] = &[
    "threading.Lock",
    "threading.RLock",
    "threading.Condition",
    "threading.Semaphore",
    "threading.BoundedSemaphore",
    "threading.Event",
    "threading.Barrier",
    "_thread.allocate_lock",
    "_thread.RLock",
];

pub const THREAD_CLASSES: &[&str] = &["threading.Thread", "threading.Timer"];

pub const THREAD_POOL: &[&str] = &["concurrent.futures.ThreadPoolExecutor"];

pub const COPY_CONTEXT: &[&str] = &["contextvars.copy_context"];

/// The type of a copied context, as a parameter annotation names it.
pub const CONTEXT_TYPE: &[&str] = &["contextvars.Context"];

pub const CONTEXT_VARS: &[&str] = &["contextvars.ContextVar", "asgiref.local.Local"];

pub const TASK_SPAWNERS: &[&str] = &["asyncio.gather", "asyncio.create_task", "asyncio.ensure_future"];

pub const SYNC_TO_ASYNC: &[&str] = &["asgiref.sync.sync_to_async"];

pub const ASYNC_TO_SYNC: &[&str] = &["asgiref.sync.async_to_sync"];

/// Django Channels consumers: their handlers run on the event loop.
pub const CONSUMER_BASES: &[&str] = &[
    "channels.generic.websocket.AsyncWebsocketConsumer",
    "channels.generic.websocket.AsyncJsonWebsocketConsumer",
    "channels.generic.websocket.WebsocketConsumer",
    "channels.generic.websocket.JsonWebsocketConsumer",
    "channels.generic.http.AsyncHttpConsumer",
    "channels.consumer.AsyncConsumer",
    "channels.consumer.SyncConsumer",
];

/// The base-class expressions of a class definition.
pub fn bases<'t>(class: Node<'t>) -> Vec<Node<'t>> {
    let Some(args) = class.child_by_field_id(crate::analysis::fields::superclasses()) else { return Vec::new() };
    let mut cursor = args.walk();
    args.named_children(&mut cursor).filter(|a| a.kind() != "keyword_argument").collect()
}

/// Names of the module's classes that derive from `threading.local`, directly or through
/// another class of the same module. Returns the local name and how the root was imported.
pub fn thread_local_classes(facts: &ModuleFacts<'_>) -> Vec<(String, Resolved)> {
    let mut found: Vec<(String, Resolved)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    // Repeat until nothing changes: a subclass may be defined before its base's subclass.
    loop {
        let before = found.len();
        for class in &facts.classes {
            let Some(name) = class.node.child_by_field_id(crate::analysis::fields::name()).map(|n| facts.text(n))
            else {
                continue;
            };
            if names.contains(name) {
                continue;
            }
            for base in bases(class.node) {
                let resolved = facts.resolve_to(base, THREAD_LOCAL).or_else(|| {
                    let base_name = facts.text(base);
                    found.iter().find(|(n, _)| n == base_name).map(|(_, r)| r.clone())
                });
                if let Some(resolved) = resolved {
                    names.insert(name.to_owned());
                    found.push((name.to_owned(), resolved));
                    break;
                }
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// True when `expr` is a call creating a thread lock.
pub fn lock_creation(facts: &ModuleFacts<'_>, expr: Node<'_>) -> Option<Resolved> {
    (expr.kind() == "call").then(|| facts.call_to(expr, LOCK_FACTORIES)).flatten()
}

/// The functions making changes at `scopes` (in source order), for a message: "`f`, `g`
/// and 2 more (5 places)", names relative to the module.
pub fn changed_by(facts: &ModuleFacts<'_>, scopes: impl ExactSizeIterator<Item = crate::analysis::ScopeId>) -> String {
    let places = scopes.len();
    let mut functions: Vec<String> =
        scopes.filter_map(|scope| facts.enclosing_function(scope)).map(|f| short_name(facts, f)).collect();
    functions.dedup();
    let shown = functions.iter().take(3).map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
    let more = if functions.len() > 3 { format!(" and {} more", functions.len() - 3) } else { String::new() };
    format!("{shown}{more} ({places} place{})", if places == 1 { "" } else { "s" })
}

/// A scope's qualified name without the module's (`Class.method`).
pub fn short_name(facts: &ModuleFacts<'_>, scope: crate::analysis::ScopeId) -> String {
    let qualname = &facts.scopes[scope].qualname;
    qualname.strip_prefix(facts.module).map(|s| s.trim_start_matches('.')).unwrap_or(qualname).to_owned()
}

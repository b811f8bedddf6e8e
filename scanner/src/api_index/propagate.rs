//! A package's API index from its modules' summaries: what reaches a thread-bound holder,
//! to a fixpoint, with the shortest chain for each.
//!
//! Backed, round by round (each round adds what the previous rounds' results reach, so a
//! chain found first is a shortest one):
//! - a holder (and a class holding one, or deriving from `threading.local`);
//! - a definition that uses something backed (`x` or `x.attr`), or an API of the input
//!   index (a dependency's: chains cross packages);
//! - a signal with a backed receiver; a definition that `send`s / `send_robust`s it;
//! - a module-level instance of a backed class; a name `__init__.py` re-exports;
//!
//! except that a chain crosses at most [`MAX_MODULE_HOPS`] module boundaries of its package
//! (dispatch through a signal crosses none).

use rustc_hash::FxHashMap;

use super::{ApiIndex, ApiKind, ModuleApis, ThreadLocalApi};

/// How a name is backed.
#[derive(Clone, Debug)]
struct Backed {
    /// From the name itself to the holder.
    chain: Vec<String>,
    holder: String,
    /// Module boundaries the chain crosses (at most [`MAX_MODULE_HOPS`]).
    hops: u8,
}

/// A chain crosses at most this many module boundaries of its package (a signal's
/// dispatch crosses none): enough for crum's `get_current_user` (it sends a signal whose
/// receiver, in another module, reads the holder of the first) or a module-level instance
/// of another module's backed class. More would follow a library's core through every module
/// that uses it: sympy's classes read a thread-local configuration, and with two crossings
/// 8,000 of its functions were "backed", found by parsing most of its 1,500 files.
pub const MAX_MODULE_HOPS: u8 = 1;

/// A name found backed (a holder, a definition, an instance, a signal, a re-export), for the
/// scan's search of unparsed files.
#[derive(Clone, Debug)]
pub struct BackedName {
    pub qualname: String,
    /// Whether users in other modules may still join its chain.
    pub followed_across_modules: bool,
}

/// What may become backed, with where it is defined.
struct Candidate<'m> {
    kind: ApiKind,
    path: &'m str,
    line: u32,
}

/// The index of `modules` (their paths and summaries), given the dependencies' `input`
/// index; and the names found backed (holders, private functions and signals included)
/// whose users in other modules would still be followed, which the scan searches unparsed
/// files for.
pub fn package_index(modules: &[(&str, &ModuleApis)], package: &str, input: &ApiIndex) -> (ApiIndex, Vec<BackedName>) {
    let mut candidates: FxHashMap<&str, Candidate<'_>> = FxHashMap::default();
    let mut signal_of_receiver: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    let mut instances_of: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    let mut aliases_of: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    let mut target_of_alias: FxHashMap<&str, &str> = FxHashMap::default();
    // Who uses what: every prefix of every use (`a.b.c` is a use of `a.b` and of `a`), with
    // the definition using it.
    let mut users: FxHashMap<&str, Vec<(&str, &str)>> = FxHashMap::default();
    for (path, module) in modules {
        for definition in &module.definitions {
            candidates.insert(&definition.qualname, Candidate { kind: definition.kind, path, line: definition.line });
            for used in &definition.uses {
                let mut prefix = used.as_str();
                loop {
                    users.entry(prefix).or_default().push((definition.qualname.as_str(), used.as_str()));
                    match prefix.rsplit_once('.') {
                        Some((head, _)) => prefix = head,
                        None => break,
                    }
                }
            }
        }
        for (instance, class, line) in &module.instances {
            candidates.insert(instance, Candidate { kind: ApiKind::Instance, path, line: *line });
            instances_of.entry(class).or_default().push(instance);
        }
        for (signal, receiver) in &module.receivers {
            signal_of_receiver.entry(receiver).or_default().push(signal);
        }
        for (alias, target) in &module.exports {
            aliases_of.entry(target).or_default().push(alias);
            target_of_alias.insert(alias, target);
        }
    }

    // Breadth first from the holders (and the input index's APIs): the first chain that
    // reaches a name is a shortest one. Each level is handled in name order, for a result
    // that does not depend on hash order.
    let mut backed: FxHashMap<String, Backed> = FxHashMap::default();
    let mut level: Vec<(String, Backed)> = Vec::new();
    for (_, module) in modules {
        for (holder, _) in &module.holders {
            level.push((holder.clone(), Backed { chain: vec![holder.clone()], holder: holder.clone(), hops: 0 }));
            // A class holding a thread local in an attribute is backed by it.
            if let Some((class, _)) = holder.rsplit_once('.').filter(|(class, _)| candidates.contains_key(*class)) {
                let how = Backed { chain: vec![class.to_owned(), holder.clone()], holder: holder.clone(), hops: 0 };
                level.push((class.to_owned(), how));
            }
        }
    }
    // A dependency's API is backed as its index says; only its instances and classes are
    // also reached through their attributes.
    let mut foreign: Vec<(&str, Backed, bool)> = input
        .apis
        .values()
        .map(|api| {
            let chain =
                if api.chain.is_empty() { vec![api.qualname.clone(), api.holder.clone()] } else { api.chain.clone() };
            (
                api.qualname.as_str(),
                Backed { chain, holder: api.holder.clone(), hops: 0 },
                api.kind != ApiKind::Function,
            )
        })
        .collect();
    foreign.sort_by(|a, b| a.0.cmp(b.0));
    let mut seeds_done = false;
    while !level.is_empty() || !seeds_done {
        let mut next: Vec<(String, Backed)> = Vec::new();
        let module_of = |qualname: &str| -> String {
            let head = qualname.rsplit_once('.').map_or("", |(head, _)| head);
            // A class attribute's module is the class's.
            match candidates.get(head) {
                Some(c) if c.kind == ApiKind::Class => head.rsplit_once('.').map_or("", |(m, _)| m).to_owned(),
                _ => head.to_owned(),
            }
        };
        // `how`, one step further to `to`, unless that crosses one module too many.
        let step = |from_module: &str, to: &str, how: &Backed| -> Option<Backed> {
            let hops = how.hops + u8::from(module_of(to) != from_module);
            (hops <= MAX_MODULE_HOPS).then(|| {
                let mut chain = vec![to.to_owned()];
                chain.extend(how.chain.iter().cloned());
                Backed { chain, holder: how.holder.clone(), hops }
            })
        };
        let reach = |key: &str, how: &Backed, exact_only: bool, foreign: bool, next: &mut Vec<(String, Backed)>| {
            let is_signal = key.starts_with(SIGNAL);
            let plain = key.strip_prefix(SIGNAL).unwrap_or(key);
            // (A signal's senders are reached by dispatch, as from their own module.)
            let from_module = if foreign { String::new() } else { module_of(plain) };
            // A package's own modules are not users of its APIs in the input index.
            let own = |name: &str| foreign && name.split('.').next() == plain.split('.').next();
            for (user, used) in users.get(plain).into_iter().flatten() {
                if own(user) {
                    continue;
                }
                let counts = if is_signal {
                    // Sending it: `signal.send(...)`, `signal.send_robust(...)`.
                    used.strip_prefix(plain).is_some_and(|rest| {
                        rest == ".send"
                            || rest == ".send_robust"
                            || rest.starts_with(".send.")
                            || rest.starts_with(".send_robust.")
                    })
                } else {
                    !exact_only || *used == plain
                };
                let from = if is_signal { module_of(user) } else { from_module.clone() };
                if let Some(backed) = counts.then(|| step(&from, user, how)).flatten() {
                    next.push(((*user).to_owned(), backed));
                }
            }
            if !is_signal {
                for instance in instances_of.get(plain).into_iter().flatten().filter(|i| !own(i)) {
                    if let Some(backed) = step(&from_module, instance, how) {
                        next.push(((*instance).to_owned(), backed));
                    }
                }
                for alias in aliases_of.get(plain).into_iter().flatten().filter(|a| !own(a)) {
                    next.push(((*alias).to_owned(), how.clone()));
                }
                for signal in signal_of_receiver.get(plain).into_iter().flatten() {
                    // Dispatching through a signal crosses no module boundary of its own.
                    if let Some(mut backed) = step(&module_of(signal), signal, how) {
                        let key = signal_key(signal);
                        backed.chain[0] = key.clone();
                        next.push((key, backed));
                    }
                }
            }
        };
        if !seeds_done {
            // The input index's APIs reach this package's users first, with the holders.
            for (qualname, how, through_attributes) in &foreign {
                reach(qualname, how, !through_attributes, true, &mut next);
            }
            seeds_done = true;
        }
        level.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.chain.len().cmp(&b.1.chain.len())));
        for (key, how) in level {
            if backed.contains_key(&key) {
                continue;
            }
            reach(&key, &how, false, false, &mut next);
            backed.insert(key, how);
        }
        // Shortest first, then by chain, among what this level reached.
        next.sort_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| a.1.chain.len().cmp(&b.1.chain.len())).then_with(|| a.1.chain.cmp(&b.1.chain))
        });
        next.dedup_by(|later, first| later.0 == first.0);
        level = next.into_iter().filter(|(key, _)| !backed.contains_key(key)).collect();
    }

    let mut index = ApiIndex::new();
    for (qualname, how) in &backed {
        let target = target_of_alias.get(qualname.as_str()).copied().unwrap_or(qualname.as_str());
        let Some(candidate) = candidates.get(target) else { continue };
        let name = qualname.rsplit('.').next().unwrap_or(qualname);
        if name.starts_with('_') {
            continue;
        }
        index.insert(ThreadLocalApi {
            qualname: qualname.clone(),
            holder: how.holder.clone(),
            package: package.to_owned(),
            path: candidate.path.to_owned(),
            line: candidate.line,
            kind: candidate.kind,
            chain: how.chain.clone(),
        });
    }
    let mut names: Vec<BackedName> = backed
        .iter()
        .map(|(q, how)| BackedName {
            qualname: q.strip_prefix(SIGNAL).unwrap_or(q).to_owned(),
            // A signal's senders are reached by dispatch, from any module.
            followed_across_modules: how.hops < MAX_MODULE_HOPS || q.starts_with(SIGNAL),
        })
        .collect();
    names.sort_by(|a, b| a.qualname.cmp(&b.qualname));
    (index, names)
}

/// Signals are kept in the backed map under this prefix: using a signal (`@receiver(s)`,
/// `s.connect(f)`) is not sending it.
const SIGNAL: &str = "signal ";

fn signal_key(signal: &str) -> String {
    format!("{SIGNAL}{signal}")
}

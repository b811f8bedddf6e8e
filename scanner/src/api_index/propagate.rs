//! A package's API index from its modules' summaries: what reaches a thread-bound holder,
//! to a fixpoint, with the shortest chain for each.
//!
//! Backed, round by round (each round adds what the previous rounds' results reach, so a
//! chain found first is a shortest one):
//! - a holder (and a class holding one, or deriving from `threading.local`);
//! - a definition that uses something backed (`x` or `x.attr`), or an API of the input
//!   index (a dependency's: chains cross packages);
//! - a signal with a backed receiver; a definition that `send`s / `send_robust`s it;
//! - a module-level instance of a backed class; a name `__init__.py` re-exports.

use std::collections::{BTreeMap, BTreeSet};

use super::{ApiIndex, ApiKind, ModuleApis, ThreadLocalApi};

/// How a name is backed.
#[derive(Clone, Debug)]
struct Backed {
    /// From the name itself to the holder.
    chain: Vec<String>,
    holder: String,
}

/// What may become backed, with where it is defined.
struct Candidate<'m> {
    kind: ApiKind,
    path: &'m str,
    line: u32,
}

/// The index of `modules` (their paths and summaries), given the dependencies' `input`
/// index; and every name found backed (holders, private functions and signals included),
/// which the scan searches unparsed files for.
pub fn package_index(modules: &[(&str, &ModuleApis)], package: &str, input: &ApiIndex) -> (ApiIndex, BTreeSet<String>) {
    let mut backed: BTreeMap<String, Backed> = BTreeMap::new();
    let mut candidates: BTreeMap<&str, Candidate<'_>> = BTreeMap::new();
    let mut signals: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, module) in modules {
        for definition in &module.definitions {
            let candidate = Candidate { kind: definition.kind, path, line: definition.line };
            candidates.insert(&definition.qualname, candidate);
        }
        for (instance, _, line) in &module.instances {
            candidates.insert(instance, Candidate { kind: ApiKind::Instance, path, line: *line });
        }
        for (signal, receiver) in &module.receivers {
            signals.entry(signal).or_default().push(receiver);
        }
    }
    for (_, module) in modules {
        for (holder, _) in &module.holders {
            backed.insert(holder.clone(), Backed { chain: vec![holder.clone()], holder: holder.clone() });
            // A class holding a thread local in an attribute is backed by it.
            if let Some((class, _)) = holder.rsplit_once('.').filter(|(class, _)| candidates.contains_key(*class)) {
                backed.entry(class.to_owned()).or_insert_with(|| Backed {
                    chain: vec![class.to_owned(), holder.clone()],
                    holder: holder.clone(),
                });
            }
        }
    }
    // A dependency's API is backed as its index says.
    let foreign: BTreeMap<&str, Backed> = input
        .apis
        .values()
        .map(|api| {
            let chain =
                if api.chain.is_empty() { vec![api.qualname.clone(), api.holder.clone()] } else { api.chain.clone() };
            (api.qualname.as_str(), Backed { chain, holder: api.holder.clone() })
        })
        .collect();
    let foreign_kind = |qualname: &str| input.apis.get(qualname).map(|api| api.kind);

    loop {
        let mut found: Vec<(String, Backed)> = Vec::new();
        // Definitions using something backed; the shortest chain, then the first name.
        for (path, module) in modules {
            let _ = path;
            for definition in &module.definitions {
                if backed.contains_key(&definition.qualname) {
                    continue;
                }
                let best = definition
                    .uses
                    .iter()
                    .filter_map(|used| reached(used, &backed, &foreign, &signals, &foreign_kind))
                    .min_by(|a, b| a.chain.len().cmp(&b.chain.len()).then_with(|| a.chain.cmp(&b.chain)));
                if let Some(via) = best {
                    let mut chain = vec![definition.qualname.clone()];
                    chain.extend(via.chain.iter().cloned());
                    found.push((definition.qualname.clone(), Backed { chain, holder: via.holder.clone() }));
                }
            }
            for (instance, class, _) in &module.instances {
                if backed.contains_key(instance) {
                    continue;
                }
                if let Some(via) = backed.get(class).or_else(|| foreign.get(class.as_str())) {
                    let mut chain = vec![instance.clone()];
                    chain.extend(via.chain.iter().cloned());
                    found.push((instance.clone(), Backed { chain, holder: via.holder.clone() }));
                }
            }
            for (alias, target) in &module.exports {
                if backed.contains_key(alias) {
                    continue;
                }
                if let Some(via) = backed.get(target) {
                    found.push((alias.clone(), via.clone()));
                }
            }
        }
        for (signal, receivers) in &signals {
            let key = signal_key(signal);
            if backed.contains_key(&key) {
                continue;
            }
            let best = receivers.iter().filter_map(|r| backed.get(*r)).min_by_key(|b| b.chain.len());
            if let Some(via) = best {
                let mut chain = vec![key.clone()];
                chain.extend(via.chain.iter().cloned());
                found.push((key, Backed { chain, holder: via.holder.clone() }));
            }
        }
        if found.is_empty() {
            break;
        }
        for (name, how) in found {
            backed.entry(name).or_insert(how);
        }
    }

    let mut index = ApiIndex::new();
    let mut kinds: BTreeMap<&str, ApiKind> = candidates.iter().map(|(q, c)| (*q, c.kind)).collect();
    // A re-export is what it re-exports.
    for (_, module) in modules {
        for (alias, target) in &module.exports {
            if let (Some(candidate), true) = (candidates.get(target.as_str()), backed.contains_key(alias)) {
                kinds.insert(alias, candidate.kind);
            }
        }
    }
    for (qualname, how) in &backed {
        let target = match modules.iter().flat_map(|(_, m)| &m.exports).find(|(alias, _)| alias == qualname) {
            Some((_, target)) => target.as_str(),
            None => qualname.as_str(),
        };
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
            kind: kinds.get(qualname.as_str()).copied().unwrap_or(candidate.kind),
            chain: how.chain.clone(),
        });
    }
    let names = backed.keys().map(|q| q.strip_prefix(SIGNAL).unwrap_or(q).to_owned()).collect();
    (index, names)
}

/// Signals are kept in the backed map under this prefix: using a signal (`@receiver(s)`,
/// `s.connect(f)`) is not sending it.
const SIGNAL: &str = "signal ";

fn signal_key(signal: &str) -> String {
    format!("{SIGNAL}{signal}")
}

/// What `used` (a qualified name a definition uses) reaches, if anything: a backed name it
/// is or is an attribute of, a backed signal it sends, or an API of the input index.
fn reached<'b>(
    used: &str,
    backed: &'b BTreeMap<String, Backed>,
    foreign: &'b BTreeMap<&str, Backed>,
    signals: &BTreeMap<&str, Vec<&str>>,
    foreign_kind: &dyn Fn(&str) -> Option<ApiKind>,
) -> Option<&'b Backed> {
    let mut prefix = used;
    loop {
        if let Some(how) = backed.get(prefix) {
            return Some(how);
        }
        // A dependency's function counts only when used itself; its instances and classes
        // also through their attributes.
        if let Some(how) = foreign.get(prefix) {
            if prefix == used || foreign_kind(prefix).is_some_and(|k| k != ApiKind::Function) {
                return Some(how);
            }
        }
        let (head, last) = prefix.rsplit_once('.')?;
        if matches!(last, "send" | "send_robust") && signals.contains_key(head) {
            return backed.get(&signal_key(head));
        }
        prefix = head;
    }
}

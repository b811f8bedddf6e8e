//! Matching a scan's findings against what the target already has, in memory: which known
//! findings were seen again (unchanged, or moved), which were renamed with their file or
//! reopened, which are new, and which are fixed. Pure code, so that every matching rule
//! is unit-tested here and the database only runs the few bulk statements of the plan.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::incoming::IncomingFinding;

/// A finding the target already has, as far as matching needs it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KnownFinding {
    pub id: i64,
    pub fingerprint: String,
    pub content_fingerprint: Option<String>,
    pub path: String,
    /// [`IncomingFinding::details_digest`] of what is stored.
    pub details_digest: i64,
    pub fixed: bool,
    /// The hash of its file when it was last seen (`findings.file_hash`).
    pub file_hash: Option<i64>,
}

/// How a known finding was seen again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Same fingerprint, stored details out of date (moved lines, reformatted line, ...).
    Updated,
    /// Its file was renamed: matched through its content fingerprint.
    Renamed,
    /// A scan had marked it fixed; it is back.
    Reopened,
}

/// What ingesting a scan does to the target's findings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Seen again exactly as stored: only `last_seen_scan` moves.
    pub unchanged: Vec<i64>,
    /// Seen again with new details: `(id, incoming, how)`.
    pub changed: Vec<(i64, &'a IncomingFinding, Change)>,
    pub new: Vec<&'a IncomingFinding>,
    /// Open findings a complete scan no longer sees, outside the files it could not read.
    pub fixed: Vec<i64>,
    /// Findings a complete scan no longer sees in a file it read unchanged (the same hash as
    /// when it was last seen): the rules changed, not the code — not fixed.
    pub retired: Vec<i64>,
}

/// Plans a scan: `incoming` must hold each fingerprint once.
pub fn plan<'a>(
    known: &[KnownFinding],
    incoming: &[&'a IncomingFinding],
    unread_paths: &HashSet<&str>,
    file_hashes: &HashMap<String, i64>,
    complete: bool,
) -> Plan<'a> {
    let by_fingerprint: HashMap<&str, &KnownFinding> = known.iter().map(|k| (k.fingerprint.as_str(), k)).collect();
    let mut plan = Plan::default();
    let mut seen: HashSet<i64> = HashSet::with_capacity(incoming.len());
    let mut unmatched: Vec<&IncomingFinding> = Vec::new();
    for &finding in incoming {
        match by_fingerprint.get(finding.fingerprint.as_str()) {
            Some(k) => {
                seen.insert(k.id);
                if k.fixed {
                    plan.changed.push((k.id, finding, Change::Reopened));
                } else if k.details_digest == finding.details_digest() {
                    plan.unchanged.push(k.id);
                } else {
                    plan.changed.push((k.id, finding, Change::Updated));
                }
            }
            None => unmatched.push(finding),
        }
    }

    // Renamed files: an unmatched finding takes over an open finding with the same content
    // fingerprint in another path that this scan no longer sees, one to one, pairing both
    // sides in path order so that the outcome does not depend on input order.
    let mut orphans: BTreeMap<&str, Vec<&KnownFinding>> = BTreeMap::new();
    for k in known {
        if let (false, false, Some(content)) = (k.fixed, seen.contains(&k.id), k.content_fingerprint.as_deref()) {
            orphans.entry(content).or_default().push(k);
        }
    }
    let mut arrivals: BTreeMap<&str, Vec<&IncomingFinding>> = BTreeMap::new();
    for finding in unmatched {
        match finding.content_fingerprint.as_deref().filter(|c| orphans.contains_key(c)) {
            Some(content) => arrivals.entry(content).or_default().push(finding),
            None => plan.new.push(finding),
        }
    }
    for (content, mut arriving) in arrivals {
        arriving.sort_by(|a, b| (&a.path, &a.fingerprint).cmp(&(&b.path, &b.fingerprint)));
        let mut candidates = orphans.remove(content).unwrap_or_default();
        candidates.sort_by(|a, b| (&a.path, a.id).cmp(&(&b.path, b.id)));
        for finding in arriving {
            match candidates.iter().position(|k| k.path != finding.path) {
                Some(i) => {
                    let k = candidates.remove(i);
                    seen.insert(k.id);
                    plan.changed.push((k.id, finding, Change::Renamed));
                }
                None => plan.new.push(finding),
            }
        }
    }

    if complete {
        let unchanged_file =
            |k: &KnownFinding| k.file_hash.is_some() && file_hashes.get(&k.path) == k.file_hash.as_ref();
        let (retired, fixed): (Vec<&KnownFinding>, Vec<&KnownFinding>) = known
            .iter()
            .filter(|k| !k.fixed && !seen.contains(&k.id) && !unread_paths.contains(k.path.as_str()))
            .partition(|k| unchanged_file(k));
        plan.fixed = fixed.into_iter().map(|k| k.id).collect();
        plan.retired = retired.into_iter().map(|k| k.id).collect();
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(fingerprint: &str, content: &str, path: &str, line: i32) -> IncomingFinding {
        IncomingFinding {
            runs_at: None,
            fingerprint: fingerprint.into(),
            content_fingerprint: Some(content.into()),
            rule: "UT001".into(),
            path: path.into(),
            start_line: line,
            start_column: 1,
            end_line: line,
            end_column: 20,
            symbol: Some("m.f".into()),
            message: "thread local".into(),
            snippet: Some("x = threading.local()".into()),
            conditional: false,
            suppressed: None,
            fix: None,
            context: None,
        }
    }

    fn known(id: i64, from: &IncomingFinding, fixed: bool) -> KnownFinding {
        KnownFinding {
            id,
            fingerprint: from.fingerprint.clone(),
            content_fingerprint: from.content_fingerprint.clone(),
            path: from.path.clone(),
            details_digest: from.details_digest(),
            fixed,
            file_hash: None,
        }
    }

    #[test]
    fn a_finding_gone_from_an_unchanged_file_is_retired_not_fixed() {
        let a = incoming("a", "ca", "same.py", 3);
        let b = incoming("b", "cb", "edited.py", 5);
        let stored = [
            KnownFinding { file_hash: Some(7), ..known(1, &a, false) },
            KnownFinding { file_hash: Some(8), ..known(2, &b, false) },
        ];
        let hashes = HashMap::from([("same.py".to_owned(), 7), ("edited.py".to_owned(), 9)]);
        let plan = plan(&stored, &[], &HashSet::new(), &hashes, true);
        assert_eq!((plan.retired, plan.fixed), (vec![1], vec![2]));
        // Without the scan's hashes (a SARIF log), gone is fixed.
        assert_eq!(plan_without_hashes(&stored).fixed, [1, 2]);
    }

    fn plan_without_hashes(stored: &[KnownFinding]) -> Plan<'static> {
        plan(stored, &[], &HashSet::new(), &HashMap::new(), true)
    }

    #[test]
    fn unchanged_moved_new_and_fixed() {
        let a = incoming("a", "ca", "x.py", 3);
        let b = incoming("b", "cb", "x.py", 9);
        let gone = incoming("g", "cg", "y.py", 1);
        let stored = [known(1, &a, false), known(2, &b, false), known(3, &gone, false)];
        let moved_b = incoming("b", "cb", "x.py", 12);
        let c = incoming("c", "cc", "x.py", 20);
        let scan = [&a, &moved_b, &c];
        let plan = plan(&stored, &scan, &HashSet::new(), &HashMap::new(), true);
        assert_eq!(plan.unchanged, [1]);
        assert_eq!(plan.changed, [(2, &moved_b, Change::Updated)]);
        assert_eq!(plan.new, [&c]);
        assert_eq!(plan.fixed, [3]);
    }

    #[test]
    fn partial_scans_and_unread_files_fix_nothing_there() {
        let a = incoming("a", "ca", "x.py", 3);
        let b = incoming("b", "cb", "unreadable.py", 9);
        let stored = [known(1, &a, false), known(2, &b, false)];
        assert!(plan(&stored, &[], &HashSet::new(), &HashMap::new(), false).fixed.is_empty());
        assert_eq!(plan(&stored, &[], &HashSet::from(["unreadable.py"]), &HashMap::new(), true).fixed, [1]);
    }

    #[test]
    fn a_fixed_finding_that_comes_back_is_reopened() {
        let a = incoming("a", "ca", "x.py", 3);
        let stored = [known(1, &a, true)];
        let scan = [&a];
        let plan = plan(&stored, &scan, &HashSet::new(), &HashMap::new(), true);
        assert_eq!(plan.changed, [(1, &a, Change::Reopened)]);
        assert!(plan.fixed.is_empty() && plan.new.is_empty());
    }

    #[test]
    fn renamed_files_keep_their_findings_one_to_one() {
        // Two identical statements in old.py; the file becomes new.py, and a third copy appears.
        let old1 = incoming("o1", "same", "old.py", 3);
        let old2 = incoming("o2", "same", "old.py", 7);
        let stored = [known(1, &old1, false), known(2, &old2, false)];
        let new1 = incoming("n1", "same", "new.py", 3);
        let new2 = incoming("n2", "same", "new.py", 7);
        let new3 = incoming("n3", "same", "other.py", 1);
        let scan = [&new3, &new2, &new1];
        let plan = plan(&stored, &scan, &HashSet::new(), &HashMap::new(), true);
        assert_eq!(plan.changed, [(1, &new1, Change::Renamed), (2, &new2, Change::Renamed)]);
        assert_eq!(plan.new, [&new3]);
        assert!(plan.fixed.is_empty());
    }

    #[test]
    fn a_finding_still_seen_or_fixed_is_not_taken_over_by_a_copy() {
        let a = incoming("a", "same", "a.py", 3);
        let gone = incoming("g", "same", "g.py", 3);
        let stored = [known(1, &a, false), known(2, &gone, true)];
        let copy = incoming("c", "same", "c.py", 3);
        let scan = [&a, &copy];
        let plan = plan(&stored, &scan, &HashSet::new(), &HashMap::new(), true);
        assert_eq!(plan.unchanged, [1]);
        assert_eq!(plan.new, [&copy]);
    }
}

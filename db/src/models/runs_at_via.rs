//! "Runs at" across packages, through the API index. A thread-local holder (a UT001/UT002
//! finding) is used when the calls that reach it run: its own scan sees it made at import and
//! used wherever it is imported (unknown), but the UT011 calls in other targets whose chain
//! ends at it ([`super::impact::holder_defined_in`], as the root-cause counts match them)
//! carry their own scans' runs-at. The most urgent of those — request before worker — is the
//! holder's `findings.runs_at_via`, with the call that makes it so.
//!
//! Any other finding whose own scan found no caller for it in its package (a library's
//! function, called from outside: its `open_ends`) runs when other targets' request- and
//! worker-time code calls those functions: their latest scans' `calls_out`. A call matches an
//! open end when it names it, or a shorter spelling of it through a package's re-export
//! (`edx_ace.send` for `edx_ace.ace.send`: the same first and last names, the rest in order).
//! Recomputed with reachability, from the findings and scans as they are.

use scanner::finding::RunsAt;
use sqlx::{types::Json, PgConnection};

use crate::ingest::{RunsAtPathColumn, StoredRunsAtPath};

/// What a recomputation found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Open UT001/UT002 findings looked at.
    pub holders: usize,
    /// Of them, those reached at request time, and only in a worker, through other code.
    pub request: usize,
    pub worker: usize,
    /// Other open findings whose time is unknown in their own package, with open ends.
    pub open_ends: usize,
    /// Of them, those other targets' request- or worker-time code calls.
    pub called: usize,
}

/// One UT011 call that runs at request time or in a worker.
struct UrgentCall {
    target_id: i64,
    target: String,
    path: String,
    line: i32,
    holder: String,
    message: String,
    runs_at: String,
    runs_at_path: Option<StoredRunsAtPath>,
}

/// Sets `runs_at_via` of every open UT001/UT002 finding (and clears it where no call reaches
/// the holder any more), in one transaction.
pub async fn recompute(db: &mut PgConnection) -> sqlx::Result<Summary> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    // Request-time calls first: the first matching call is the most urgent.
    let calls: Vec<UrgentCall> = sqlx::query!(
        r#"SELECT f.target_id, t.name AS target, f.path, f.start_line, ut011_holder(f.message) AS "holder!",
                  f.message, f.runs_at AS "runs_at!",
                  f.runs_at_path AS "runs_at_path: Json<StoredRunsAtPath>"
           FROM findings f JOIN targets t ON t.id = f.target_id
           WHERE f.rule = 'UT011' AND NOT f.in_tests AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND f.runs_at IN ('request', 'worker') AND ut011_holder(f.message) IS NOT NULL
           ORDER BY f.runs_at = 'request' DESC, t.name, f.path, f.start_line, f.id"#
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| UrgentCall {
        target_id: r.target_id,
        target: r.target,
        path: r.path,
        line: r.start_line,
        holder: r.holder,
        message: r.message,
        runs_at: r.runs_at,
        runs_at_path: r.runs_at_path.map(|p| p.0),
    })
    .collect();
    let holders = sqlx::query!(
        r#"SELECT f.id, f.target_id, f.symbol AS "symbol!", f.path, f.runs_at
           FROM findings f
           WHERE f.rule IN ('UT001', 'UT002') AND f.symbol IS NOT NULL
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'"#
    )
    .fetch_all(&mut *tx)
    .await?;
    // The calls by the thread local they end at (a few dozen), most urgent first within each.
    let mut by_holder: Vec<(&str, Vec<&UrgentCall>)> = Vec::new();
    for call in &calls {
        match by_holder.iter_mut().find(|(holder, _)| *holder == call.holder) {
            Some((_, list)) => list.push(call),
            None => by_holder.push((&call.holder, vec![call])),
        }
    }
    let mut summary = Summary { holders: holders.len(), ..Summary::default() };
    let (mut ids, mut ats, mut paths): (Vec<i64>, Vec<String>, Vec<String>) = Default::default();
    for holder in &holders {
        // Its own scan already says it runs at request time (or as urgently as any call).
        let own = holder.runs_at.as_deref();
        let more_urgent =
            |c: &UrgentCall| !(own == Some("request") || (own == Some("worker") && c.runs_at == "worker"));
        let Some(call) = by_holder
            .iter()
            .filter(|(name, _)| super::impact::holder_defined_in(name, &holder.symbol, &holder.path))
            .filter_map(|(_, list)| list.iter().find(|c| c.target_id != holder.target_id && more_urgent(c)))
            .min_by_key(|c| c.runs_at != "request")
        else {
            continue;
        };
        match call.runs_at.as_str() {
            "request" => summary.request += 1,
            _ => summary.worker += 1,
        }
        ids.push(holder.id);
        ats.push(call.runs_at.clone());
        paths.push(serde_json::to_string(&via_path(call)).unwrap_or_else(|_| "{}".into()));
    }
    let (looked_at, called) = through_calls_out(&mut tx, &mut ids, &mut ats, &mut paths).await?;
    summary.open_ends = looked_at;
    summary.called = called;
    sqlx::query!(
        "UPDATE findings SET runs_at_via = NULL, runs_at_via_path = NULL
         WHERE runs_at_via IS NOT NULL AND NOT (id = ANY($1))",
        &ids
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE findings f SET runs_at_via = v.at, runs_at_via_path = v.path::jsonb
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, at, path)
         WHERE f.id = v.id",
        &ids,
        &ats,
        &paths
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// Why, and the path: the caller's own path to its entry point, the API it calls, the holder.
fn via_path(call: &UrgentCall) -> StoredRunsAtPath {
    let api = call.message.split('`').nth(1).unwrap_or("its API");
    let caller = call.runs_at_path.clone().unwrap_or_default();
    let mut path = caller.path.into_owned();
    path.push(api.to_owned());
    path.push(call.holder.clone());
    RunsAtPathColumn {
        open_ends: Default::default(),
        why: format!(
            "{} in {} (`{}:{}`) calls `{api}`",
            if caller.why.is_empty() { "code" } else { &caller.why },
            call.target,
            call.path,
            call.line
        )
        .into(),
        path: path.into(),
    }
}

/// A call out of a target's latest scan that looked, and — once known — when it runs:
/// its own scan's time, or the time of another call that reaches one of its open ends.
struct Caller {
    target: String,
    call: scanner::finding::CallOut,
    resolved: Option<Resolved>,
}

/// When a call runs, why, and the path from the entry point to the name it calls.
#[derive(Clone)]
struct Resolved {
    at: scanner::finding::RunsAt,
    why: String,
    path: Vec<String>,
}

/// Rounds of resolving calls through other calls (library → library → …): each round goes
/// one package further from the code whose time is known.
const ROUNDS: usize = 6;

/// Adds to `ids`, `ats`, `paths` the open findings not already there whose open ends other
/// targets' request- or worker-time code calls — directly, or through calls whose own time
/// another call tells; returns how many were looked at and matched.
async fn through_calls_out(
    tx: &mut PgConnection,
    ids: &mut Vec<i64>,
    ats: &mut Vec<String>,
    paths: &mut Vec<String>,
) -> sqlx::Result<(usize, usize)> {
    let scans = sqlx::query!(
        r#"SELECT DISTINCT ON (s.target_id) t.name AS target,
                  s.calls_out AS "calls_out!: Json<Vec<scanner::finding::CallOut>>"
           FROM scans s JOIN targets t ON t.id = s.target_id
           WHERE s.calls_out IS NOT NULL AND s.status IN ('complete', 'partial')
           ORDER BY s.target_id, s.id DESC"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut callers: Vec<Caller> = Vec::new();
    for scan in scans {
        for call in scan.calls_out.0 {
            let resolved = matches!(call.at, RunsAt::Request | RunsAt::Worker).then(|| Resolved {
                at: call.at,
                why: format!("{} in {} (`{}:{}`) calls `{}`", call.why, scan.target, call.file, call.line, call.name),
                path: call.path.iter().cloned().chain([call.name.clone()]).collect(),
            });
            callers.push(Caller { target: scan.target.clone(), call, resolved });
        }
    }
    // Request time first, then by target and name: the first match is the one kept.
    fn order(c: &Caller) -> (bool, &str, &str) {
        (c.call.at != RunsAt::Request, &c.target, &c.call.name)
    }
    callers.sort_by(|a, b| order(a).cmp(&order(b)));
    let mut by_name: std::collections::HashMap<(String, String), Vec<usize>> = Default::default();
    for (i, caller) in callers.iter().enumerate() {
        by_name.entry(first_and_last(&caller.call.name)).or_default().push(i);
    }
    // The most urgent resolved call spelling one of `ends`, with the end it spells.
    let reach = |callers: &[Caller], ends: &[String]| -> Option<(Resolved, String)> {
        ends.iter()
            .filter_map(|end| {
                // The first resolved at request time, else the first resolved (`min_by_key`
                // keeps the first of equals).
                let resolved = by_name
                    .get(&first_and_last(end))?
                    .iter()
                    .filter_map(|&i| callers[i].resolved.as_ref().filter(|_| spells(&callers[i].call.name, end)))
                    .min_by_key(|r| r.at != RunsAt::Request)?;
                Some((resolved.clone(), end.clone()))
            })
            .min_by_key(|(r, _)| r.at != RunsAt::Request)
    };
    for _ in 0..ROUNDS {
        let found: Vec<(usize, Resolved)> = callers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.resolved.is_none())
            .filter_map(|(i, c)| {
                let (through, end) = reach(&callers, &c.call.open_ends)?;
                let mut path = through.path;
                extend_path(&mut path, std::iter::once(end).chain(c.call.path.iter().cloned()));
                extend_path(&mut path, std::iter::once(c.call.name.clone()));
                Some((i, Resolved { at: through.at, why: through.why, path }))
            })
            .collect();
        if found.is_empty() {
            break;
        }
        for (i, resolved) in found {
            callers[i].resolved = Some(resolved);
        }
    }
    let findings = sqlx::query!(
        r#"SELECT f.id, f.runs_at_path AS "runs_at_path!: Json<StoredRunsAtPath>"
           FROM findings f
           WHERE f.runs_at = 'unknown' AND f.runs_at_path ? 'open_ends' AND NOT f.in_tests
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open' AND NOT (f.id = ANY($1))
           ORDER BY f.id"#,
        &ids[..]
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut called = 0;
    for finding in &findings {
        let Some((through, end)) = reach(&callers, &finding.runs_at_path.0.open_ends) else { continue };
        called += 1;
        let mut path = through.path;
        extend_path(&mut path, std::iter::once(end));
        let column = RunsAtPathColumn { why: through.why.into(), path: path.into(), open_ends: Default::default() };
        ids.push(finding.id);
        ats.push(through.at.as_str().to_owned());
        paths.push(serde_json::to_string(&column).unwrap_or_else(|_| "{}".into()));
    }
    Ok((findings.len(), called))
}

/// Appends `names` to `path`, each unless it repeats the name before it.
fn extend_path(path: &mut Vec<String>, names: impl IntoIterator<Item = String>) {
    for name in names {
        if path.last() != Some(&name) {
            path.push(name);
        }
    }
}

fn first_and_last(name: &str) -> (String, String) {
    let first = name.split('.').next().unwrap_or(name);
    let last = name.rsplit('.').next().unwrap_or(name);
    (first.to_owned(), last.to_owned())
}

/// `call` names `definition`, or a shorter spelling of it through re-exports: the same first
/// and last names, every name between found in order (`edx_ace.send` spells
/// `edx_ace.ace.send`).
fn spells(call: &str, definition: &str) -> bool {
    if first_and_last(call) != first_and_last(definition) {
        return false;
    }
    let mut names = definition.split('.');
    call.split('.').all(|part| names.any(|name| name == part))
}

/// Why, and the path: the caller's own path to its entry point, the name it calls, and the
/// definition that name is (when spelled otherwise).
#[cfg(test)]
mod tests {
    use super::spells;

    #[test]
    fn a_call_spells_a_definition_directly_or_through_a_reexport() {
        assert!(spells("edx_ace.ace.send", "edx_ace.ace.send"));
        assert!(spells("edx_ace.send", "edx_ace.ace.send"));
        assert!(spells("paramiko.Transport", "paramiko.transport.Transport"));
        // Same first and last names, but another path.
        assert!(!spells("django.core.cache.cache.get", "django.db.models.query.QuerySet.get"));
        assert!(!spells("edx_ace.send", "edx_ace.ace.resend"));
        assert!(!spells("other.send", "edx_ace.ace.send"));
    }
}

//! Recent activity in words, for the overview: each scan with what it changed ("Scan of
//! openedx/XBlock at 8ce6aa9: 1 fixed (UT003 in xblock/runtime.py)"), claims, triage,
//! syncs — one sentence each, newest first. A scan's per-finding events are folded into
//! its sentence, and scans that changed nothing fold into one line per day (so they do not
//! push the one real event off the list); bookkeeping (release checks, reachability runs,
//! sign-ins, webhook deliveries) is left out.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

pub use crate::views::Activity;

use super::events::Event;

/// How many changed findings a scan's sentence names before "and N more".
const NAMED: usize = 3;

struct Row {
    id: i64,
    at: DateTime<Utc>,
    actor: Option<String>,
    kind: String,
    data: serde_json::Value,
    target: Option<String>,
    /// `rule in path` of the findings the scan fixed / found new, in source order.
    fixed: Option<Vec<String>>,
    new: Option<Vec<String>>,
    /// The finding the event is about (claims, triage): `rule in path` and its target.
    finding: Option<String>,
    /// A claim's item when it is a whole target.
    item_target: Option<String>,
}

pub async fn recent(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<Activity>> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT e.id AS "id!", e.at AS "at!: DateTime<Utc>", e.actor, e.kind AS "kind!", e.data AS "data!",
                  t.name AS "target?",
                  CASE WHEN e.kind = 'scan.ingested' THEN (
                      SELECT array_agg(f.rule || ' in ' || f.path ORDER BY f.path, f.start_line)
                      FROM events fe CROSS JOIN LATERAL unnest(fe.finding_ids) AS x(id) JOIN findings f ON f.id = x.id
                      WHERE fe.scan_id = e.scan_id AND fe.kind = 'findings.fixed') END AS "fixed?",
                  CASE WHEN e.kind = 'scan.ingested' THEN (
                      SELECT array_agg(f.rule || ' in ' || f.path ORDER BY f.path, f.start_line)
                      FROM events fe CROSS JOIN LATERAL unnest(fe.finding_ids) AS x(id) JOIN findings f ON f.id = x.id
                      WHERE fe.scan_id = e.scan_id AND fe.kind = 'findings.new') END AS "new?",
                  (SELECT f.rule || ' in ' || f.path || ' of ' || ft.name FROM findings f JOIN targets ft ON ft.id = f.target_id
                   WHERE f.id = coalesce(e.finding_id, (e.data->'item'->>'Finding')::bigint)) AS "finding?",
                  (SELECT it.name FROM targets it WHERE it.id = (e.data->'item'->>'Target')::bigint) AS "item_target?"
           FROM events e LEFT JOIN targets t ON t.id = e.target_id
           WHERE e.kind NOT IN ('findings.new', 'findings.fixed', 'findings.renamed', 'findings.reopened',
                                'upgrades.checked', 'reach.computed', 'user.signed_in', 'github.webhook')
           ORDER BY e.at DESC, e.id DESC
           LIMIT $1"#,
        // Enough rows that folding quiet scans still leaves `limit` lines.
        limit.saturating_mul(8)
    )
    .fetch_all(db)
    .await?;
    let mut out: Vec<(Activity, Option<Quiet>)> = Vec::new();
    for row in rows {
        let quiet = quiet_scan(&row);
        match (quiet, out.last_mut()) {
            // Another quiet scan of the same day as the line above: fold it in.
            (Some(target), Some((line, Some(day)))) if day.date == row.at.date_naive() => {
                day.count += 1;
                if !day.targets.contains(&target) {
                    day.targets.push(target);
                }
                line.sentence = day.sentence();
            }
            (Some(target), _) => {
                let day = Quiet { date: row.at.date_naive(), count: 1, targets: vec![target] };
                out.push((Activity { id: row.id, at: row.at, sentence: sentence(&row) }, Some(day)));
            }
            (None, _) => out.push((Activity { id: row.id, at: row.at, sentence: sentence(&row) }, None)),
        }
        if out.len() as i64 > limit {
            out.pop();
            break;
        }
    }
    Ok(out.into_iter().map(|(line, _)| line).collect())
}

/// Scans of one day that changed nothing, folded into one line.
struct Quiet {
    date: chrono::NaiveDate,
    count: usize,
    targets: Vec<String>,
}

impl Quiet {
    fn sentence(&self) -> String {
        const NAMED: usize = 3;
        let mut named = self.targets.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
        if self.targets.len() > NAMED {
            named.push_str(&format!(" and {} more", self.targets.len() - NAMED));
        }
        format!("{} scans with no change on {} ({named})", self.count, self.date)
    }
}

/// The target of a complete scan that changed nothing (nothing new, fixed or reopened).
fn quiet_scan(row: &Row) -> Option<String> {
    match Event::from_row(&row.kind, row.data.clone()).ok()? {
        Event::ScanIngested(scan)
            if scan.status == "complete" && scan.fixed == 0 && scan.new == 0 && scan.reopened == 0 =>
        {
            Some(row.target.clone().unwrap_or_else(|| "a target".to_owned()))
        }
        _ => None,
    }
}

/// "1 fixed (UT003 in xblock/runtime.py)", "2 new (…, …) and 5 more".
fn changed(count: i64, what: &str, places: &Option<Vec<String>>) -> Option<String> {
    if count <= 0 {
        return None;
    }
    // The same rule in the same file once, with how many times.
    let mut distinct: Vec<(String, usize)> = Vec::new();
    for place in places.as_deref().unwrap_or_default() {
        match distinct.last_mut() {
            Some((last, n)) if last == place => *n += 1,
            _ => distinct.push((place.clone(), 1)),
        }
    }
    let named: Vec<String> = distinct
        .iter()
        .take(NAMED)
        .map(|(place, n)| if *n > 1 { format!("{place} ×{n}") } else { place.clone() })
        .collect();
    let more: usize = distinct.iter().skip(NAMED).map(|(_, n)| n).sum();
    let mut text = format!("{count} {what}");
    if !named.is_empty() {
        text.push_str(&format!(" ({}", named.join(", ")));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text.push(')');
    }
    Some(text)
}

fn short(revision: &str) -> &str {
    // A commit shortens to 7 characters; a version is kept whole.
    if revision.len() >= 12 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        &revision[..7]
    } else {
        revision
    }
}

fn sentence(row: &Row) -> String {
    let who = row.actor.as_deref().unwrap_or("Unthread");
    let target = row.target.as_deref().unwrap_or("a target");
    let item = || match (&row.finding, &row.item_target) {
        (Some(finding), _) => finding.clone(),
        (None, Some(target)) => format!("all of {target}"),
        (None, None) => "an item".to_owned(),
    };
    let Ok(event) = Event::from_row(&row.kind, row.data.clone()) else {
        return format!("{} ({who})", row.kind);
    };
    match event {
        Event::ScanIngested(scan) => {
            let at = scan.revision.as_deref().map(|r| format!(" at {}", short(r))).unwrap_or_default();
            let parts: Vec<String> = [
                changed(scan.fixed, "fixed", &row.fixed),
                changed(scan.new, "new", &row.new),
                (scan.reopened > 0).then(|| format!("{} reopened", scan.reopened)),
            ]
            .into_iter()
            .flatten()
            .collect();
            let outcome = if parts.is_empty() { "no change".to_owned() } else { parts.join(", ") };
            let partial = if scan.status == "complete" { "" } else { " (partial: nothing marked fixed)" };
            format!("Scan of {target}{at}: {outcome}{partial}")
        }
        Event::ClaimAdded(_) => format!("{who} claimed {}", item()),
        Event::ClaimReleased(c) if row.actor.as_deref() == Some(c.owner.as_str()) => {
            format!("{who} gave up {}", item())
        }
        Event::ClaimReleased(c) => format!("{who} released {}'s claim on {}", c.owner, item()),
        Event::ClaimAssigned(c) => format!("{who} assigned {} to {}", item(), c.owner),
        Event::FindingTriaged(t) => {
            format!("{who} triaged {}: {} → {}", item(), t.from.replace('_', " "), t.to.replace('_', " "))
        }
        Event::RequirementsImported(r) => {
            format!(
                "{} of {target} read: {} pins ({} changed, {} added, {} removed)",
                r.path, r.pins, r.changed, r.added, r.removed
            )
        }
        Event::GitHubSynced(s) => format!(
            "GitHub sync: {} issue{} and {} pull request{}, {} new link{}",
            s.issues,
            plural(s.issues),
            s.pulls,
            plural(s.pulls),
            s.new_links,
            plural(s.new_links as usize)
        ),
        Event::GitHubAssignees(a) if a.assignees.is_empty() => {
            format!("{}#{}: nobody is assigned on GitHub any more", a.repository, a.number)
        }
        Event::GitHubAssignees(a) => {
            let who: Vec<String> = a.assignees.iter().map(|login| format!("@{login}")).collect();
            format!("{}#{} assigned on GitHub to {}", a.repository, a.number, who.join(", "))
        }
        Event::LinkAdded(_) => format!("{who} linked {} to GitHub", item_or_target(row)),
        Event::LinkRemoved(_) => format!("{who} removed a GitHub link of {}", item_or_target(row)),
        Event::ReportPosted(r) => format!("{who} posted the weekly report {}", r.week),
        Event::UserRoleChanged(r) => format!("{} is now {}", r.login, r.to.as_str()),
        Event::TokenCreated(t) => format!("{who} created the API token {:?}", t.name),
        Event::TokenRevoked(_) => format!("{who} revoked an API token"),
        Event::DemoLoaded(d) => format!("Demo data loaded ({} findings)", d.findings),
        Event::RepositoryTracked(t) => format!("{who} started tracking {} ({})", t.repository, t.via),
        Event::RepositoryUntracked(t) => format!("{who} stopped tracking {} (its history stays)", t.repository),
        Event::ChangeQueued(c) => format!("{who} asked for a pull request: {} in {}", c.subject, c.repository),
        Event::ChangeOpened(c) => {
            format!("Pull request {}#{} opened: {}", c.repository, c.pull.unwrap_or_default(), c.subject)
        }
        Event::ChangeMerged(c) => {
            format!("Pull request {}#{} merged: {}", c.repository, c.pull.unwrap_or_default(), c.subject)
        }
        Event::ChangeClosed(c) => {
            format!(
                "Pull request {}#{} closed without merging: {}",
                c.repository,
                c.pull.unwrap_or_default(),
                c.subject
            )
        }
        Event::ChangeFailed(c) => {
            format!("Pull request for {} in {} not opened: {}", c.subject, c.repository, c.reason.unwrap_or_default())
        }
        Event::ChangeCancelled(c) => {
            format!("Pull request for {} in {} not needed: {}", c.subject, c.repository, c.reason.unwrap_or_default())
        }
        other => format!("{} ({who})", other.kind()),
    }
}

fn item_or_target(row: &Row) -> String {
    row.finding.clone().or_else(|| row.target.clone()).unwrap_or_else(|| "an item".to_owned())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, data: serde_json::Value) -> Row {
        Row {
            id: 1,
            at: Utc::now(),
            actor: None,
            kind: kind.into(),
            data,
            target: Some("openedx/XBlock".into()),
            fixed: None,
            new: None,
            finding: None,
            item_target: None,
        }
    }

    fn scan(fixed: i64, new: i64) -> serde_json::Value {
        serde_json::json!({
            "status": "complete", "revision": "8ce6aa997b07bb3551e5449930ed1786cfe7451a", "tool": "unthread-scan",
            "new": new, "seen": 2, "renamed": 0, "reopened": 0, "fixed": fixed, "unread_files": 0
        })
    }

    #[test]
    fn a_scan_says_what_it_fixed_and_found() {
        let mut r = row("scan.ingested", scan(1, 0));
        r.fixed = Some(vec!["UT003 in xblock/runtime.py".into()]);
        assert_eq!(sentence(&r), "Scan of openedx/XBlock at 8ce6aa9: 1 fixed (UT003 in xblock/runtime.py)");
        let mut r = row("scan.ingested", scan(0, 5));
        r.new = Some(["m1.py", "m1.py", "m2.py", "m3.py", "m4.py"].map(|m| format!("UT010 in {m}")).to_vec());
        assert_eq!(
            sentence(&r),
            "Scan of openedx/XBlock at 8ce6aa9: 5 new (UT010 in m1.py ×2, UT010 in m2.py, UT010 in m3.py and 1 more)"
        );
        assert_eq!(sentence(&row("scan.ingested", scan(0, 0))), "Scan of openedx/XBlock at 8ce6aa9: no change");
        let mut version = scan(0, 0);
        version["revision"] = "0.8.0".into();
        assert_eq!(sentence(&row("scan.ingested", version)), "Scan of openedx/XBlock at 0.8.0: no change");
    }

    #[test]
    fn people_and_syncs_in_words() {
        let mut claim = row("claim.added", serde_json::json!({ "owner": "ana", "item": { "Finding": 7 } }));
        claim.actor = Some("ana".into());
        claim.finding = Some("UT002 in edx_django_utils/cache/utils.py of openedx/edx-django-utils".into());
        assert_eq!(
            sentence(&claim),
            "ana claimed UT002 in edx_django_utils/cache/utils.py of openedx/edx-django-utils"
        );
        let mut released = row("claim.released", serde_json::json!({ "owner": "eli", "item": { "Target": 3 } }));
        released.actor = Some("ana".into());
        released.item_target = Some("openedx/edx-when".into());
        assert_eq!(sentence(&released), "ana released eli's claim on all of openedx/edx-when");
        let mut triaged =
            row("finding.triaged", serde_json::json!({ "from": "open", "to": "wont_fix", "reason": "x" }));
        triaged.actor = Some("ana".into());
        triaged.finding = Some("UT010 in a.py of t".into());
        assert_eq!(sentence(&triaged), "ana triaged UT010 in a.py of t: open → wont fix");
        let synced = row(
            "github.synced",
            serde_json::json!({ "run_id": 1, "issues": 15, "pulls": 1, "new_links": 17, "requests": 40,
                                "not_modified": 0, "rate_limited": 0, "retries": 0 }),
        );
        assert_eq!(sentence(&synced), "GitHub sync: 15 issues and 1 pull request, 17 new links");
        assert_eq!(sentence(&row("no.such_kind", serde_json::json!({}))), "no.such_kind (Unthread)");
    }
}

//! The report as CSV (RFC 4180, via the `csv` crate: fields with commas, quotes or line
//! breaks are quoted). Two tables: one row per target for the week (concatenate weeks for a
//! time series), and one row per change to a finding or its ownership.

use super::{FindingRef, WeeklyReport};

const TARGET_HEADER: [&str; 14] = [
    "week",
    "target",
    "kind",
    "open",
    "open_change",
    "fixed",
    "migrated",
    "triaged_away",
    "tests_open",
    "total",
    "percent_done",
    "fixed_this_week",
    "new_this_week",
    // Empty for a whole scan; else which files the numbers are about.
    "scanned",
];

const CHANGE_HEADER: [&str; 16] = [
    "week",
    "at",
    "change",
    "finding_id",
    "target",
    "rule",
    "path",
    "symbol",
    "by",
    "owner",
    "from",
    "to",
    "reason",
    "pull_request",
    "pull_request_title",
    "url",
];

pub fn targets(report: &WeeklyReport) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(TARGET_HEADER);
    for t in &report.targets {
        let _ = writer.write_record([
            report.week.clone(),
            cell(&t.name),
            t.kind.clone(),
            t.open.to_string(),
            t.open_change.to_string(),
            t.fixed.to_string(),
            t.migrated.to_string(),
            t.triaged_away.to_string(),
            t.tests_open.to_string(),
            t.total.to_string(),
            format!("{:.1}", t.percent_done),
            t.fixed_this_week.to_string(),
            t.new_this_week.to_string(),
            cell(t.scope.as_deref().unwrap_or("")),
        ]);
    }
    finish(writer)
}

/// One change to a finding (`new`, `fixed`, `reopened`, `triaged`) or to who owns a finding or
/// a whole target (`claimed`, `assigned`, `released`), in time order.
#[derive(Default)]
struct Change<'a> {
    at: &'a str,
    change: &'static str,
    finding: Option<&'a FindingRef>,
    target: &'a str,
    by: Option<&'a str>,
    owner: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    reason: Option<&'a str>,
    pull_request: Option<&'a super::PullRef>,
}

pub fn changes(report: &WeeklyReport) -> String {
    let mut rows: Vec<Change> = Vec::new();
    let plain = report.new.iter().map(|f| ("new", f)).chain(report.reopened.iter().map(|f| ("reopened", f)));
    for (change, f) in plain {
        rows.push(Change { at: &f.at, change, target: &f.target, finding: Some(f), ..Default::default() });
    }
    for item in &report.fixed {
        rows.push(Change {
            at: &item.finding.at,
            change: "fixed",
            target: &item.finding.target,
            finding: Some(&item.finding),
            by: item.fixed_by.as_deref(),
            pull_request: item.pull_request.as_ref(),
            ..Default::default()
        });
    }
    for t in &report.triaged {
        rows.push(Change {
            at: &t.finding.at,
            change: "triaged",
            target: &t.finding.target,
            finding: Some(&t.finding),
            by: t.by.as_deref(),
            from: Some(&t.from),
            to: Some(&t.to),
            reason: t.reason.as_deref(),
            ..Default::default()
        });
    }
    for c in &report.ownership {
        rows.push(Change {
            at: &c.at,
            change: match c.change.as_str() {
                "claimed" => "claimed",
                "assigned" => "assigned",
                _ => "released",
            },
            target: &c.target,
            finding: c.finding.as_ref(),
            by: Some(&c.by),
            owner: Some(&c.owner),
            ..Default::default()
        });
    }
    // Timestamps are all `YYYY-MM-DDTHH:MM:SSZ`: text order is time order. The sort is
    // stable, so changes at one instant keep the order above.
    rows.sort_by(|a, b| a.at.cmp(b.at));

    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CHANGE_HEADER);
    for row in rows {
        let f = row.finding;
        let _ = writer.write_record([
            report.week.clone(),
            row.at.to_owned(),
            row.change.to_owned(),
            f.map(|f| f.id.to_string()).unwrap_or_default(),
            cell(row.target),
            cell(f.map(|f| f.rule.as_str()).unwrap_or_default()),
            cell(f.map(|f| f.path.as_str()).unwrap_or_default()),
            cell(f.and_then(|f| f.symbol.as_deref()).unwrap_or_default()),
            cell(row.by.unwrap_or_default()),
            cell(row.owner.unwrap_or_default()),
            cell(row.from.unwrap_or_default()),
            cell(row.to.unwrap_or_default()),
            cell(row.reason.unwrap_or_default()),
            row.pull_request.map(|p| p.url.clone()).unwrap_or_default(),
            cell(row.pull_request.map(|p| p.title.as_str()).unwrap_or_default()),
            f.map(|f| f.url.clone()).unwrap_or_default(),
        ]);
    }
    finish(writer)
}

/// Text a spreadsheet must not run: a cell starting with `=`, `+`, `-`, `@` (or a tab or
/// carriage return) is a formula to Excel and LibreOffice, so it gets a leading `'`
/// (OWASP's advice for CSV injection). Only text columns go through here, never numbers.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn finish(writer: csv::Writer<Vec<u8>>) -> String {
    // Writing into memory cannot fail, and every field is a Rust string: valid UTF-8.
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

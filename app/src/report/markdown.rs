//! The report as GitHub-flavoured Markdown: ready to paste into a comment or a forum post.
//!
//! Every text that comes from outside (titles, paths, logins, reasons) is escaped, so a
//! title like `<script>` or `| a | b |` shows as typed and cannot break a table or inject
//! HTML. Logins are written as code (`` `@login` ``): a weekly post should not notify
//! everyone it names.

use std::fmt::Write;

use super::{FindingRef, IssueRef, PullRef, TargetRow, WeeklyReport};

/// Items listed per section; the rest are counted (all of them are in the JSON and CSV).
pub const MAX_LISTED: usize = 100;

pub fn render(report: &WeeklyReport) -> String {
    let mut out = String::new();
    let h = &report.headline;
    let week = report.week.parse::<super::IsoWeek>().ok();
    let previous = week.map(|w| w.previous().to_string()).unwrap_or_default();
    let (monday, sunday) = week.map(|w| (w.monday().to_string(), w.sunday().to_string())).unwrap_or_default();
    let _ = writeln!(out, "## Unthread weekly status: {}\n", report.week);
    let _ = writeln!(
        out,
        "{} to {} ({}). **{}% done**: {} of {} findings fixed or migrated, {} open.\n",
        monday,
        sunday,
        text(&report.timezone),
        h.percent_done,
        thousands(h.done),
        thousands(h.total),
        thousands(h.open)
    );
    let _ = writeln!(out, "| Measure | End of week | Change since {previous} |");
    out.push_str("| --- | ---: | ---: |\n");
    let _ = writeln!(out, "| Open | {} | {} |", thousands(h.open), signed(h.open_change));
    let _ = writeln!(out, "| Fixed this week | {} | |", thousands(h.fixed_this_week));
    let _ = writeln!(out, "| New this week | {} | |", thousands(h.new_this_week));
    let _ = writeln!(out, "| Reopened this week | {} | |", thousands(h.reopened_this_week));
    let _ = writeln!(out, "| Triaged away | {} | {} |", thousands(h.triaged_away), signed(h.triaged_away_change));
    let _ = writeln!(out, "| Done | {}% | {} pts |", h.percent_done, signed_decimal(h.percent_done_change));

    let (repositories, dependencies): (Vec<&TargetRow>, Vec<&TargetRow>) =
        report.targets.iter().partition(|t| t.kind != "dependency");
    target_table(&mut out, "Repositories", &repositories);
    target_table(&mut out, "Dependencies", &dependencies);

    section(&mut out, "Fixed this week", report.fixed.len());
    list(&mut out, &report.fixed, |item| {
        let mut line = finding(&item.finding);
        if let Some(by) = &item.fixed_by {
            let _ = write!(line, ", fixed by {}", login(by));
        }
        if let Some(pull) = &item.pull_request {
            let _ = write!(line, " in {}", pull_link(pull));
        }
        line
    });
    section(&mut out, "New this week", report.new.len());
    list(&mut out, &report.new, finding);
    section(&mut out, "Reopened this week", report.reopened.len());
    list(&mut out, &report.reopened, finding);
    section(&mut out, "Triage decisions", report.triaged.len());
    list(&mut out, &report.triaged, |t| {
        let mut line = format!("{}: {} → {}", finding(&t.finding), text(&t.from), text(&t.to));
        if let Some(by) = &t.by {
            let _ = write!(line, " by {}", login(by));
        }
        if let Some(reason) = &t.reason {
            let _ = write!(line, " ({})", text(reason));
        }
        line
    });
    section(&mut out, "Ownership changes", report.ownership.len());
    list(&mut out, &report.ownership, |c| {
        let what = match &c.finding {
            Some(f) => finding(f),
            None => format!("all of **{}**", text(&c.target)),
        };
        match c.change.as_str() {
            "assigned" => format!("{} assigned {what} to {}", login(&c.by), login(&c.owner)),
            "released" if c.by != c.owner => format!("{} released {}'s claim on {what}", login(&c.by), login(&c.owner)),
            change => format!("{} {} {what}", login(&c.owner), text(change)),
        }
    });
    section(
        &mut out,
        &format!("Stale claims (no activity for {} days)", report.stale_after_days),
        report.stale_claims.len(),
    );
    list(&mut out, &report.stale_claims, |s| {
        let what = match &s.finding {
            Some(f) => finding(f),
            None => format!("all of **{}**", text(&s.target)),
        };
        format!("{}: {what}, idle {} days (last activity {})", login(&s.owner), s.idle_days, day(&s.last_activity_at))
    });

    let _ = writeln!(out, "\n### Dependencies blocking the most repositories\n");
    if report.blocking_dependencies.is_empty() {
        out.push_str("None: no pinned dependency has open findings.\n");
    } else {
        out.push_str("| Dependency | Open | Pinned by |\n| --- | ---: | --- |\n");
        for d in &report.blocking_dependencies {
            let repositories: Vec<String> = d.repositories.iter().map(|r| text(r)).collect();
            let _ = writeln!(out, "| {} | {} | {} |", text(&d.name), thousands(d.open), repositories.join(", "));
        }
    }

    let _ = writeln!(out, "\n### GitHub\n");
    github_list(&mut out, "Sub-issues opened", &report.github.sub_issues_opened);
    github_list(&mut out, "Sub-issues closed", &report.github.sub_issues_closed);
    github_list(&mut out, "Pull requests merged", &report.github.pull_requests_merged);

    let _ = writeln!(
        out,
        "\n_Generated by Unthread from scans, claims and GitHub as of {}. Progress counts what rescans of the code find, not pull request states._",
        report.ends_at
    );
    out
}

fn target_table(out: &mut String, title: &str, rows: &[&TargetRow]) {
    let _ = writeln!(out, "\n### {title}\n");
    if rows.is_empty() {
        out.push_str("None.\n");
        return;
    }
    out.push_str(
        "| Name | Open | Change | Fixed | Migrated | Triaged away | Done | Fixed this week | New this week |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for t in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {}% | {} | {} |",
            text(&t.name),
            thousands(t.open),
            signed(t.open_change),
            thousands(t.fixed),
            thousands(t.migrated),
            thousands(t.triaged_away),
            t.percent_done,
            thousands(t.fixed_this_week),
            thousands(t.new_this_week)
        );
    }
}

fn section(out: &mut String, title: &str, count: usize) {
    let _ = writeln!(out, "\n### {title} ({count})\n");
    if count == 0 {
        out.push_str("None.\n");
    }
}

fn list<T>(out: &mut String, items: &[T], line: impl Fn(&T) -> String) {
    for item in items.iter().take(MAX_LISTED) {
        let _ = writeln!(out, "- {}", line(item));
    }
    if items.len() > MAX_LISTED {
        let _ = writeln!(
            out,
            "- and {} more (all are in the JSON and CSV exports)",
            thousands((items.len() - MAX_LISTED) as i64)
        );
    }
}

fn github_list(out: &mut String, title: &str, items: &[IssueRef]) {
    let _ = writeln!(out, "- {title} ({}){}", items.len(), if items.is_empty() { "" } else { ":" });
    for item in items.iter().take(MAX_LISTED) {
        let by = item.author.as_deref().map(|a| format!(" by {}", login(a))).unwrap_or_default();
        let _ = writeln!(
            out,
            "  - {}{by}",
            link(&format!("{}#{}: {}", item.repository, item.number, item.title), &item.url)
        );
    }
    if items.len() > MAX_LISTED {
        let _ = writeln!(out, "  - and {} more", items.len() - MAX_LISTED);
    }
}

fn finding(f: &FindingRef) -> String {
    let place = match &f.symbol {
        Some(symbol) => format!("{} in {}", code(&f.path), code(symbol)),
        None => code(&f.path),
    };
    format!("{} {} **{}** {place}", link(&format!("#{}", f.id), &f.url), text(&f.rule), text(&f.target))
}

fn pull_link(pull: &PullRef) -> String {
    link(&format!("{}#{}: {}", pull.repository, pull.number, pull.title), &pull.url)
}

fn login(login: &str) -> String {
    code(&format!("@{login}"))
}

/// `[label](url)` for http(s) URLs; other URLs (`javascript:`) are not linked.
fn link(label: &str, url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return text(label);
    }
    let mut safe = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' => safe.push_str("%20"),
            '(' => safe.push_str("%28"),
            ')' => safe.push_str("%29"),
            '<' => safe.push_str("%3C"),
            '>' => safe.push_str("%3E"),
            c if c.is_control() => {}
            c => safe.push(c),
        }
    }
    format!("[{}]({safe})", text(label))
}

/// Outside text as inline Markdown that renders as typed: one line, punctuation escaped.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            // What can start emphasis, code, links, HTML, entities, strikethrough, a table
            // cell or a mention mid-line (the text never starts a line: it always follows
            // a list marker or a cell border).
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span, or escaped text when the value holds a backtick or a pipe (which a code
/// span in a table cannot hold).
fn code(raw: &str) -> String {
    if raw.is_empty() || raw.contains(['`', '|', '\n', '\r']) || raw.chars().any(char::is_control) {
        text(raw)
    } else {
        format!("`{raw}`")
    }
}

fn signed(value: i64) -> String {
    match value {
        0 => "0".into(),
        v if v > 0 => format!("+{}", thousands(v)),
        v => format!("-{}", thousands(-v)),
    }
}

fn signed_decimal(value: f64) -> String {
    if value > 0.0 {
        format!("+{value:.1}")
    } else if value < 0.0 {
        format!("{value:.1}")
    } else {
        "0.0".into()
    }
}

/// 12,345
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `2026-11-16T00:00:00Z` → `2026-11-16`.
fn day(timestamp: &str) -> String {
    timestamp.get(..10).unwrap_or(timestamp).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_renders_as_typed() {
        assert_eq!(text("a|b\nc"), "a\\|b c");
        assert_eq!(text("<script>alert(1)</script>"), "\\<script\\>alert(1)\\</script\\>");
        assert_eq!(code("pkg/mod.py"), "`pkg/mod.py`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(link("x", "javascript:alert(1)"), "x");
        assert_eq!(link("x", "https://e.org/a (b)"), "[x](https://e.org/a%20%28b%29)");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(signed(-5), "-5");
        assert_eq!(signed(1200), "+1,200");
        assert_eq!(signed_decimal(1.25), "+1.2");
        assert_eq!(signed_decimal(-0.5), "-0.5");
    }
}

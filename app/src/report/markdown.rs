//! The report as GitHub-flavoured Markdown: ready to paste into a comment or a forum post.
//!
//! It is the summary of the three formats: it fits in one GitHub comment (65,536
//! characters), so long lists show their first items and say how many more the JSON and
//! CSV hold, and the dependency table shows the dependencies that changed this week.
//!
//! Every text that comes from outside (titles, paths, logins, reasons) is escaped, so a
//! title like `<script>` or `| a | b |` shows as typed and cannot break a table or inject
//! HTML. Logins are written as code (`` `@login` ``): a weekly post should not notify
//! everyone it names.

use std::fmt::Write;

use super::{ClosedBy, FindingRef, GitHubRef, PullRef, TargetRow, WeeklyReport};
use db::progress::thousands;

/// GitHub refuses a comment longer than this.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// How much the Markdown lists; the rest is counted (all of it is in the JSON and CSV).
#[derive(Clone, Copy, Debug)]
struct Limits {
    items: usize,
    repositories: usize,
    dependencies: usize,
}

/// From the most detailed to the barest; the first that fits in a comment is used.
const LIMITS: [Limits; 4] = [
    // A post read in a screen or two: ten of each list (the exports hold them all).
    Limits { items: 10, repositories: 100, dependencies: 50 },
    Limits { items: 5, repositories: 50, dependencies: 20 },
    Limits { items: 3, repositories: 20, dependencies: 10 },
    Limits { items: 0, repositories: 0, dependencies: 0 },
];

/// What the latest scans did not analyse, when there is anything: "nothing found" is not "not
/// looked at".
fn coverage(out: &mut String, c: &db::models::scans::CoverageTotals) {
    if c.files_not_read + c.files_partially_parsed + c.computed_imports == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "\nNot analysed by the latest scans: {} files not read (of which {} compiled extension modules), {} files with syntax errors (findings from the parts that parsed), {} imports by a computed name (not followed).",
        thousands(c.files_not_read),
        thousands(c.extension_modules),
        thousands(c.files_partially_parsed),
        thousands(c.computed_imports)
    );
}

/// When the open findings' code runs, when any scan said.
fn runs_at(out: &mut String, r: &super::RunsAtFigures) {
    let analysed = r.request + r.worker + r.start_up + r.tests + r.unknown;
    if analysed == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "\nWhen their code runs (their latest scans' call graphs): {} at request time, {} in workers, {} only at start-up (or once, on first use), {} only from tests, {} not known{}.",
        thousands(r.request),
        thousands(r.worker),
        thousands(r.start_up),
        thousands(r.tests),
        thousands(r.unknown),
        if r.not_analysed > 0 { format!(", {} not analysed", thousands(r.not_analysed)) } else { String::new() }
    );
}

pub fn render(report: &WeeklyReport) -> String {
    let mut text = String::new();
    for limits in LIMITS {
        text = render_with(report, limits);
        if text.chars().count() <= GITHUB_COMMENT_LIMIT {
            break;
        }
    }
    text
}

fn render_with(report: &WeeklyReport, limits: Limits) -> String {
    let mut out = String::new();
    let h = &report.headline;
    let week = report.week.parse::<super::IsoWeek>().ok();
    let previous = week.map(|w| w.previous().to_string()).unwrap_or_default();
    let (monday, sunday) = week.map(|w| (w.monday().to_string(), w.sunday().to_string())).unwrap_or_default();
    let _ = writeln!(out, "## Unthread weekly status: {}\n", report.week);
    let _ = writeln!(
        out,
        "{} to {} ({}). **{} fixed of {} ({} %)** · {} triaged away · {} open. {} already on context variables \
         (not counted as progress); {} open in test code (out of scope).",
        monday,
        sunday,
        text(&report.timezone),
        thousands(h.fixed),
        thousands(h.total),
        db::progress::percent_text(h.fixed, h.total),
        thousands(h.triaged_away),
        thousands(h.open),
        places(h.migrated),
        thousands(h.tests_open)
    );
    // People of the demo or development accounts, named as simulated wherever they appear.
    let person = |name: &str| {
        if report.simulated_people.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            format!("{} (simulated)", login(name))
        } else {
            login(name)
        }
    };

    // The news first: what changed this week, with who. Empty sections are left out.
    let github = &report.github;
    let changes = &github.changes;
    let news = report.fixed.len()
        + report.new.len()
        + report.reopened.len()
        + report.triaged.len()
        + report.ownership.len()
        + github.sub_issues_opened.len()
        + github.sub_issues_closed.len()
        + github.pull_requests_merged.len()
        + (changes.opened + changes.merged + changes.closed) as usize;
    if news == 0 {
        out.push_str("\nNothing changed this week: no fix, no new finding, no GitHub item opened, closed or merged.\n");
    }
    if !report.fixed.is_empty() {
        section(&mut out, "Fixed this week", report.fixed.len());
        list(&mut out, &report.fixed, limits.items, |item| {
            let mut line = finding(&item.finding);
            if let Some(by) = &item.fixed_by {
                let _ = write!(line, ", fixed by {}", person(by));
            }
            if let Some(pull) = &item.pull_request {
                let _ = write!(line, " in {}", pull_link(pull));
            }
            line
        });
    }
    let github_news =
        github.sub_issues_opened.len() + github.sub_issues_closed.len() + github.pull_requests_merged.len();
    if github_news > 0 || changes.opened + changes.merged + changes.closed > 0 {
        let _ = writeln!(out, "\n### GitHub\n");
        for (title, items, closed) in [
            ("Sub-issues closed", &github.sub_issues_closed, true),
            ("Pull requests merged", &github.pull_requests_merged, false),
            ("Sub-issues opened", &github.sub_issues_opened, false),
        ] {
            if !items.is_empty() {
                github_list(&mut out, title, items, limits.items, closed);
            }
        }
        if changes.opened + changes.merged + changes.closed > 0 {
            let _ = writeln!(
                out,
                "- Unthread's fix pull requests: {} opened, {} merged, {} closed without merging",
                changes.opened, changes.merged, changes.closed
            );
        }
    }
    if !report.new.is_empty() {
        section(&mut out, "New this week", report.new.len());
        if report.new.len() > limits.items {
            // Too many to list (a first scan finds a whole baseline): where they are.
            by_target(&mut out, &report.new, limits.items);
        } else {
            list(&mut out, &report.new, limits.items, finding);
        }
    }
    if !report.reopened.is_empty() {
        section(&mut out, "Reopened this week", report.reopened.len());
        list(&mut out, &report.reopened, limits.items, finding);
    }
    if !report.triaged.is_empty() {
        section(&mut out, "Triage decisions", report.triaged.len());
        list(&mut out, &report.triaged, limits.items, |t| {
            let mut line = format!("{}: {} → {}", finding(&t.finding), text(&t.from), text(&t.to));
            if let Some(by) = &t.by {
                let _ = write!(line, " by {}", person(by));
            }
            if let Some(reason) = &t.reason {
                let _ = write!(line, " ({})", text(reason));
            }
            line
        });
    }
    if !report.ownership.is_empty() {
        section(&mut out, "Ownership changes", report.ownership.len());
        list(&mut out, &report.ownership, limits.items, |c| {
            let what = match &c.finding {
                Some(f) => finding(f),
                None => format!("all of **{}**", text(&c.target)),
            };
            match c.change.as_str() {
                "assigned" => format!("{} assigned {what} to {}", person(&c.by), person(&c.owner)),
                "released" if c.by != c.owner => {
                    format!("{} released {}'s claim on {what}", person(&c.by), person(&c.owner))
                }
                change => format!("{} {} {what}", person(&c.owner), text(change)),
            }
        });
    }

    // Then the asks, one item each: filed work nobody took, what blocks the most, and claims
    // nobody is working on; the blocking table folded after them.
    let blocking_list = blocking_dependencies(report);
    if !report.unassigned_sub_issues.is_empty() || !blocking_list.is_empty() || !report.stale_claims.is_empty() {
        out.push_str("\n### Asks\n\n");
        unassigned(&mut out, report, limits.items);
        root_causes(&mut out, &blocking_list);
        stale_claims(&mut out, report, limits.items, &person);
    }
    blocking_table(&mut out, report, &blocking_list);

    // The numbers behind the headline, folded.
    out.push_str("\n<details><summary>Numbers: measures, pace, filed vs found, teams, repositories, dependencies, upgrades</summary>\n\n");
    let _ = writeln!(out, "| Measure | End of week | Change since {previous} |");
    out.push_str("| --- | ---: | ---: |\n");
    let _ = writeln!(out, "| Open | {} | {} |", thousands(h.open), signed(h.open_change));
    let _ = writeln!(out, "| Fixed this week | {} | |", thousands(h.fixed_this_week));
    let _ = writeln!(out, "| New this week | {} | |", thousands(h.new_this_week));
    let _ = writeln!(out, "| Reopened this week | {} | |", thousands(h.reopened_this_week));
    let _ = writeln!(out, "| Triaged away | {} | {} |", thousands(h.triaged_away), signed(h.triaged_away_change));
    let _ = writeln!(
        out,
        "| Done (fixed + triaged away) | {}% | {} pts |",
        h.percent_done,
        signed_decimal(h.percent_done_change)
    );
    runs_at(&mut out, &report.runs_at);
    coverage(&mut out, &report.coverage);
    pace(&mut out, &report.projection);
    filed(&mut out, &report.filed);
    if !report.teams.is_empty() {
        out.push_str(
            "\n### Teams\n\nRepositories by the owner team their `catalog-info.yaml` or `CODEOWNERS` names.\n\n",
        );
        out.push_str("| Team | Repositories | Open | Change | Fixed this week | New this week |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for t in &report.teams {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                text(&t.team),
                t.repositories,
                thousands(t.open),
                signed(t.open_change),
                thousands(t.fixed_this_week),
                thousands(t.new_this_week)
            );
        }
    }
    let (repositories, dependencies): (Vec<&TargetRow>, Vec<&TargetRow>) =
        report.targets.iter().partition(|t| t.kind != "dependency");
    target_table(&mut out, "Repositories", &repositories, limits.repositories);
    let (changed, unchanged): (Vec<&TargetRow>, Vec<&TargetRow>) =
        dependencies.into_iter().partition(|t| t.open_change != 0 || t.fixed_this_week > 0 || t.new_this_week > 0);
    target_table(&mut out, "Dependencies that changed", &changed, limits.dependencies);
    if !unchanged.is_empty() {
        let open: i64 = unchanged.iter().map(|t| t.open).sum();
        let _ = writeln!(
            out,
            "\n{} did not change this week ({} among them).",
            counted(unchanged.len() as i64, "other dependency", "other dependencies"),
            counted(open, "open finding", "open findings")
        );
    }
    upgrades(&mut out, report);
    out.push_str("\n</details>\n");

    let _ = writeln!(
        out,
        "\n_Generated by Unthread from scans, claims and GitHub as of {}. Progress counts what rescans of the code find, not pull request states._",
        report.ends_at
    );
    out
}

/// The dependencies whose migration would clear calls elsewhere, most first (one with no
/// calls elsewhere blocks nobody).
fn blocking_dependencies(report: &WeeklyReport) -> Vec<&super::BlockingDependency> {
    report.blocking_dependencies.iter().filter(|d| d.calls_elsewhere > 0 || d.root_of > 0).collect()
}

/// The ask of the root causes, as one item: the dependencies whose migration clears the most
/// calls elsewhere.
fn root_causes(out: &mut String, blocking: &[&super::BlockingDependency]) {
    if blocking.is_empty() {
        return;
    }
    let roots: Vec<String> = blocking
        .iter()
        .filter(|d| d.root_of > 0)
        .take(3)
        .map(|d| format!("{} ({})", text(&d.name), thousands(d.root_of)))
        .collect();
    if roots.is_empty() {
        out.push_str("- **Blocking dependencies**: their own thread-local APIs are called elsewhere; none is the root of other code's calls (table below)\n");
        return;
    }
    let more = blocking.len().saturating_sub(roots.len());
    let _ = writeln!(
        out,
        "- **Root causes to migrate**, by the calls elsewhere they would clear: {}{}",
        roots.join(", "),
        if more > 0 { format!(", and {more} more blocking dependencies in the table below") } else { String::new() }
    );
}

/// The blocking dependencies' table, folded, with reachability and who pins them (said once
/// when it is the same for all).
fn blocking_table(out: &mut String, report: &WeeklyReport, blocking: &[&super::BlockingDependency]) {
    if blocking.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n<details><summary>Blocking dependencies ({})</summary>\n", blocking.len());
    match &report.reach {
        Some(r) => {
            let _ = writeln!(
                out,
                "Of the open dependency findings, {} are in modules tracked code imports and {} are not (reachability of {}; imported is not called).\n",
                thousands(r.reached),
                thousands(r.not_reached),
                day(&r.computed_at)
            );
        }
        None => out.push_str(
            "Whether tracked code imports these modules is not stated: reachability had not been computed by the week's end.\n\n",
        ),
    }
    let pinners = |d: &super::BlockingDependency| d.repositories.iter().map(|r| text(r)).collect::<Vec<_>>().join(", ");
    let same = blocking.windows(2).all(|w| w[0].repositories == w[1].repositories);
    out.push_str(
        "Root causes first: \"root of\" counts the calls in other code whose chain ends at the dependency's own thread locals (through its APIs or another package's), which migrating it would clear; \"calls elsewhere\" counts the calls of its own thread-local APIs",
    );
    if same {
        let _ = writeln!(out, "; all pinned by {}.\n", pinners(blocking[0]));
        out.push_str("| Dependency | Open | Root of | Calls elsewhere |\n| --- | ---: | ---: | ---: |\n");
    } else {
        out.push_str(
            ".\n\n| Dependency | Open | Root of | Calls elsewhere | Pinned by |\n| --- | ---: | ---: | ---: | --- |\n",
        );
    }
    for d in blocking {
        let pinned = if same { String::new() } else { format!(" {} |", pinners(d)) };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |{pinned}",
            text(&d.name),
            thousands(d.open),
            thousands(d.root_of),
            thousands(d.calls_elsewhere)
        );
    }
    out.push_str("\n</details>\n");
}

/// The sub-issues nobody is assigned to, as one item (oldest first); those this post lists
/// as opened this week are not listed twice.
fn unassigned(out: &mut String, report: &WeeklyReport, limit: usize) {
    let items = &report.unassigned_sub_issues;
    if items.is_empty() {
        return;
    }
    let opened = |i: &&GitHubRef| {
        report
            .github
            .sub_issues_opened
            .iter()
            .any(|o| (o.repository.as_str(), o.number) == (i.repository.as_str(), i.number))
    };
    let (new, older): (Vec<&GitHubRef>, Vec<&GitHubRef>) = items.iter().partition(opened);
    let mut parts: Vec<String> =
        older.iter().take(limit).map(|i| link(&format!("{}#{}", i.repository, i.number), &i.url)).collect();
    if older.len() > limit {
        parts.push(format!("{} more", older.len() - limit));
    }
    if !new.is_empty() {
        let all = if new.len() == report.github.sub_issues_opened.len() { "all " } else { "" };
        parts.push(format!("{all}{} opened this week (above)", new.len()));
    }
    let _ = writeln!(
        out,
        "- **Filed, nobody assigned ({})**: open sub-issues with no assignee on GitHub, oldest first: {}",
        items.len(),
        parts.join(", ")
    );
}

/// Claims with no activity, one line per person: how many, how long, what (short paths).
fn stale_claims(out: &mut String, report: &WeeklyReport, limit: usize, person: &dyn Fn(&str) -> String) {
    if report.stale_claims.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "- **Stale claims ({})**: no activity for {} days",
        report.stale_claims.len(),
        report.stale_after_days
    );
    let mut owners: Vec<&str> = Vec::new();
    for claim in &report.stale_claims {
        if !owners.contains(&claim.owner.as_str()) {
            owners.push(&claim.owner);
        }
    }
    for owner in owners.iter().take(limit.max(1)) {
        let claims: Vec<&super::StaleClaim> = report.stale_claims.iter().filter(|c| c.owner == *owner).collect();
        let idle = claims.iter().map(|c| c.idle_days).max().unwrap_or(0);
        let what: Vec<String> = claims
            .iter()
            .take(limit.max(1))
            .map(|c| match &c.finding {
                Some(f) => format!(
                    "{} {}",
                    link(&format!("#{}", f.id), &f.url),
                    code(f.path.rsplit('/').next().unwrap_or(&f.path))
                ),
                None => format!("all of **{}**", text(&c.target)),
            })
            .collect();
        let more = claims.len().saturating_sub(what.len());
        let _ = writeln!(
            out,
            "  - {}: {} idle up to {idle} days — {}{}",
            person(owner),
            counted(claims.len() as i64, "claim", "claims"),
            what.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    if owners.len() > limit.max(1) {
        let _ =
            writeln!(out, "  - and {} more people (all are in the CSV and JSON exports)", owners.len() - limit.max(1));
    }
}

/// Pin bumps that would clear findings.
fn upgrades(out: &mut String, report: &WeeklyReport) {
    let _ = writeln!(out, "\n### Upgrades that would clear findings\n");
    if !report.upgrades_checked {
        out.push_str("Not checked yet: no dependency's newer releases had been checked by the week's end.\n");
    } else if report.upgrades.is_empty() {
        out.push_str("None: no checked newer release of a pinned dependency clears its open findings.\n");
    } else {
        out.push_str(
            "A newer release no longer has these findings (compared by fingerprint; not a claim of compatibility).\n\n",
        );
        out.push_str("| Dependency | Pinned | Bump to | Clears |\n| --- | --- | --- | ---: |\n");
        for u in &report.upgrades {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} of {} |",
                text(&u.dependency),
                text(u.pinned.as_deref().unwrap_or("—")),
                text(&u.version),
                thousands(u.clears),
                thousands(u.open)
            );
        }
    }
}

/// "1 place" / "28 places".
fn places(n: i64) -> String {
    if n == 1 {
        "1 place".to_owned()
    } else {
        format!("{} places", thousands(n))
    }
}

fn target_table(out: &mut String, title: &str, rows: &[&TargetRow], limit: usize) {
    let _ = writeln!(out, "\n### {title}\n");
    if rows.is_empty() {
        out.push_str("None.\n");
        return;
    }
    out.push_str(
        "| Name | Open | Change | Fixed | Triaged away | Done | On context variables | Open in tests | Fixed this week | New this week |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for t in rows.iter().take(limit) {
        let done = if t.total > 0 { format!("{}%", t.percent_done) } else { "–".to_owned() };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            text(&t.name),
            thousands(t.open),
            signed(t.open_change),
            thousands(t.fixed),
            thousands(t.triaged_away),
            done,
            thousands(t.migrated),
            thousands(t.tests_open),
            thousands(t.fixed_this_week),
            thousands(t.new_this_week)
        );
    }
    // A row about some files only says which, under the table.
    for scope in rows.iter().take(limit).filter_map(|t| t.scope.as_deref()) {
        let _ = writeln!(out, "\nScanned: {}.", text(scope));
    }
    if rows.len() > limit {
        let _ = writeln!(
            out,
            "\nand {} more (all are in the CSV and JSON exports).",
            thousands((rows.len() - limit) as i64)
        );
    }
}

fn section(out: &mut String, title: &str, count: usize) {
    let _ = writeln!(out, "\n### {title} ({count})\n");
    if count == 0 {
        out.push_str("None.\n");
    }
}

/// How many of `findings` each target holds, most first, on one line (at most `limit`
/// targets named).
fn by_target(out: &mut String, findings: &[FindingRef], limit: usize) {
    let mut counts: Vec<(&str, i64)> = Vec::new();
    for f in findings {
        match counts.iter_mut().find(|(target, _)| *target == f.target) {
            Some((_, n)) => *n += 1,
            None => counts.push((&f.target, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named: Vec<String> =
        counts.iter().take(limit).map(|(t, n)| format!("**{}** {}", text(t), thousands(*n))).collect();
    let rest = counts.len().saturating_sub(limit);
    let _ = writeln!(
        out,
        "- In {}: {}{} (each is in the CSV and JSON exports)",
        counted(counts.len() as i64, "target", "targets"),
        named.join(", "),
        if rest > 0 { format!(" and {rest} more") } else { String::new() }
    );
}

fn list<T>(out: &mut String, items: &[T], limit: usize, line: impl Fn(&T) -> String) {
    for item in items.iter().take(limit) {
        let _ = writeln!(out, "- {}", line(item));
    }
    if items.len() > limit {
        let _ = writeln!(
            out,
            "- and {} more (all are in the CSV and JSON exports)",
            thousands((items.len() - limit) as i64)
        );
    }
}

/// `closed`: the list is of closed issues, whose "by" is who closed them (their timeline),
/// not who opened them.
fn github_list(out: &mut String, title: &str, items: &[GitHubRef], limit: usize, closed: bool) {
    let _ = writeln!(out, "- {title} ({}){}", items.len(), if items.is_empty() { "" } else { ":" });
    for item in items.iter().take(limit) {
        let by_login = |who: Option<&str>| who.map(|a| format!(" by {}", login(a))).unwrap_or_default();
        let by = match (closed, &item.closed_by) {
            (false, _) => by_login(item.author.as_deref()),
            (true, None) => String::new(),
            // Closed by a pull request's merge: the pull request, and its author.
            (true, Some(ClosedBy { pull_request: Some(pull), url: Some(url), login: who })) => {
                let who = who.as_deref().map(|a| format!(" ({})", login(a))).unwrap_or_default();
                format!(" by {}{who}", link(pull, url))
            }
            (true, Some(c)) => by_login(c.login.as_deref()),
        };
        let _ = writeln!(
            out,
            "  - {}{by}",
            link(&format!("{}#{}: {}", item.repository, item.number, item.title), &item.url)
        );
    }
    if items.len() > limit {
        let _ = writeln!(out, "  - and {} more", items.len() - limit);
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

/// `1 open finding`, `2 open findings`.
fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `2026-11-16T00:00:00Z` → `2026-11-16`.
fn day(timestamp: &str) -> String {
    timestamp.get(..10).unwrap_or(timestamp).to_owned()
}

/// The pace and the projection, in one paragraph: the method, the range, the verdict.
fn pace(out: &mut String, p: &db::projection::Projection) {
    use db::projection::Status;
    let weeks: Vec<String> = p.weekly_done.iter().map(|d| thousands(*d)).collect();
    let date = |d: Option<chrono::NaiveDate>| d.map_or_else(|| "never".to_owned(), |d| d.to_string());
    let target = p.target.map(|t| format!("target {t}: ")).unwrap_or_default();
    let _ = write!(
        out,
        "\n**Pace**: {target}**{}**. Work done (fixed or triaged away) in the last {} complete weeks: {}",
        p.verdict(),
        p.weekly_done.len(),
        if weeks.is_empty() { "none".to_owned() } else { weeks.join(", ") }
    );
    match p.status {
        Status::Done | Status::Stalled => out.push_str(".\n"),
        _ => {
            let _ = writeln!(
                out,
                " ({:.1} a week); at that pace the {} open findings are done by {} (best week's pace {}, worst {}). New findings are not forecast.",
                p.mean_per_week,
                thousands(p.open),
                date(p.expected),
                date(p.best),
                date(p.worst)
            );
        }
    }
}

fn filed(out: &mut String, f: &super::FiledFigures) {
    let _ = writeln!(
        out,
        "\n### Filed vs found\n\nGitHub items name {} of the {} findings found; {} open ones are not filed yet.\n",
        thousands(f.filed),
        thousands(f.found),
        thousands(f.open_unfiled)
    );
    if !f.by_target.is_empty() {
        out.push_str("| Repository or package | Found | Filed | Open, not filed |\n| --- | ---: | ---: | ---: |\n");
        for t in &f.by_target {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                text(&t.name),
                thousands(t.found),
                thousands(t.filed),
                thousands(t.open_unfiled)
            );
        }
    }
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
    fn a_huge_week_still_fits_in_one_comment() {
        use crate::report::*;
        let finding = |i: i64| FindingRef {
            id: i,
            url: format!("https://unthread.example.org/findings/{i}"),
            target: format!("openedx/some-rather-long-repository-name-{}", i % 50),
            rule: "UT001".into(),
            path: format!("lms/djangoapps/a/very/deep/package/structure/module_{i}.py"),
            symbol: Some(format!("lms.djangoapps.a.very.deep.package.structure.module_{i}.SomeClass.some_method")),
            at: "2026-11-17T10:00:00Z".into(),
        };
        let pull = PullRef {
            repository: "openedx/openedx-platform".into(),
            number: 38000,
            title: "x".repeat(256),
            url: "https://github.com/openedx/openedx-platform/pull/38000".into(),
        };
        let row = |i: usize, kind: &str| TargetRow {
            name: format!("{kind}-{i}"),
            kind: kind.into(),
            open: 10,
            open_change: -1,
            fixed: 1,
            migrated: 0,
            triaged_away: 0,
            tests_open: 0,
            total: 11,
            percent_done: 9.1,
            fixed_this_week: 1,
            new_this_week: 0,
            scope: None,
        };
        let report = WeeklyReport {
            schema: SCHEMA_ID.into(),
            week: "2026-W47".into(),
            timezone: "UTC".into(),
            starts_at: "2026-11-16T00:00:00Z".into(),
            ends_at: "2026-11-23T00:00:00Z".into(),
            base_url: "https://unthread.example.org".into(),
            stale_after_days: 14,
            headline: Headline::default(),
            targets: (0..300).map(|i| row(i, "library")).chain((0..500).map(|i| row(i, "dependency"))).collect(),
            fixed: (0..5_000)
                .map(|i| FixedItem {
                    finding: finding(i),
                    fixed_by: Some("someone".into()),
                    pull_request: Some(pull.clone()),
                })
                .collect(),
            new: (0..5_000).map(finding).collect(),
            reopened: (0..5_000).map(finding).collect(),
            triaged: vec![],
            ownership: vec![],
            stale_claims: vec![],
            unassigned_sub_issues: Vec::new(),
            blocking_dependencies: vec![],
            upgrades: vec![],
            upgrades_checked: true,
            simulated_people: vec![],
            reach: None,
            runs_at: Default::default(),
            coverage: Default::default(),
            filed: Default::default(),
            teams: vec![],
            projection: db::projection::project("2026-11-23".parse().unwrap(), 5_000, &[], None),
            github: GitHubActivity::default(),
        };
        let markdown = render(&report);
        assert!(markdown.chars().count() <= GITHUB_COMMENT_LIMIT, "{} characters", markdown.chars().count());
        assert!(markdown.contains("more (all are in the CSV and JSON exports)"));
        assert!(markdown.contains("### Fixed this week (5000)"));
    }

    #[test]
    fn what_was_not_analysed_is_said_only_when_there_is_some() {
        let mut out = String::new();
        coverage(&mut out, &db::models::scans::CoverageTotals::default());
        assert_eq!(out, "");
        let totals = db::models::scans::CoverageTotals {
            files_not_read: 3,
            extension_modules: 2,
            files_partially_parsed: 1,
            computed_imports: 1200,
        };
        coverage(&mut out, &totals);
        assert_eq!(
            out.trim(),
            "Not analysed by the latest scans: 3 files not read (of which 2 compiled extension modules), 1 files with syntax errors (findings from the parts that parsed), 1,200 imports by a computed name (not followed)."
        );
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

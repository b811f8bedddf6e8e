//! The overview's first lines: where the epic stands (items closed, assigned, pull requests,
//! the last merge, pace, how the scope moved) and what changed in the last seven days
//! against the seven before — what someone overseeing the migration reads first.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use db::progress::thousands;
use db::views::{BurndownPoint, Changes, EpicItem};

/// The last seven days and the seven before them, up to `now`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Weeks {
    pub now: DateTime<Utc>,
    pub this: Changes,
    pub before: Changes,
}

/// How many of `items` (the epic's) happened in `[from, to)`: issues opened, issues closed,
/// pull requests merged.
fn item_changes(items: &[EpicItem], from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64, i64) {
    let within = |at: DateTime<Utc>| at >= from && at < to;
    let issues = items.iter().filter(|i| !i.is_pull);
    let opened = issues.clone().filter(|i| within(i.created_at)).count() as i64;
    let closed = issues.filter(|i| i.state == "closed" && i.done_at.is_some_and(within)).count() as i64;
    let merged =
        items.iter().filter(|i| i.is_pull && i.state == "merged" && i.done_at.is_some_and(within)).count() as i64;
    (opened, closed, merged)
}

/// "3 days ago", "152 days ago", "today".
fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now - at).num_days() {
        0 => "today".to_owned(),
        1 => "1 day ago".to_owned(),
        n => format!("{n} days ago"),
    }
}

#[component]
fn Fact(
    label: &'static str,
    value: String,
    #[prop(optional)] note: Option<String>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="min-w-0 rounded border border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900" data-testid=testid>
            <div class="text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</div>
            <div class="text-lg font-semibold tabular-nums">{value}</div>
            {note.map(|n| view! { <div class="text-xs text-slate-600 dark:text-slate-300">{n}</div> })}
        </div>
    }
}

/// The epic at a glance. Without an epic (no sync yet) only the scope and pace are known.
#[component]
pub fn StatusStrip(
    items: Vec<EpicItem>,
    burndown: Vec<BurndownPoint>,
    projection: db::projection::Projection,
    now: DateTime<Utc>,
) -> impl IntoView {
    let issues: Vec<&EpicItem> = items.iter().filter(|i| !i.is_pull).collect();
    let closed = issues.iter().filter(|i| i.state == "closed").count();
    let open: Vec<&&EpicItem> = issues.iter().filter(|i| i.state == "open").collect();
    let assigned = open.iter().filter(|i| !i.assignees.is_empty()).count();
    let open_pulls = items.iter().filter(|i| i.is_pull && matches!(i.state.as_str(), "open" | "draft")).count();
    let last_merge = items.iter().filter(|i| i.is_pull && i.state == "merged").filter_map(|i| i.done_at).max();
    let scope = match (burndown.first(), burndown.last()) {
        (Some(first), Some(last)) => {
            let change = last.scope() - first.scope();
            Some((
                format!("{} → {}", thousands(first.scope()), thousands(last.scope())),
                format!("found since {} ({}{})", first.day, if change >= 0 { "+" } else { "" }, thousands(change)),
            ))
        }
        _ => None,
    };
    let epic_facts = (!issues.is_empty()).then(|| {
        view! {
            <Fact label="Items closed" value=format!("{closed} of {}", issues.len()) testid="status-items" />
            <Fact
                label="Assigned"
                value=format!("{assigned} of {}", open.len())
                note=format!("open item{} with an assignee on GitHub", if open.len() == 1 { "" } else { "s" })
                testid="status-assigned"
            />
            <Fact label="Open pull requests" value=open_pulls.to_string() testid="status-pulls" />
            <Fact
                label="Last merge"
                value=last_merge.map_or("none yet".to_owned(), |at| at.format("%Y-%m-%d").to_string())
                note=last_merge.map(|at| ago(at, now)).unwrap_or_default()
                testid="status-last-merge"
            />
        }
    });
    view! {
        <section aria-label="Status" class="mt-4 grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6" data-testid="status-strip">
            {epic_facts}
            <Fact label="Pace" value=pace_word(projection.status) note=projection.verdict() testid="status-pace" />
            {scope.map(|(value, note)| view! { <Fact label="Scope" value note testid="status-scope" /> })}
        </section>
    }
}

/// The projection's status in a word or two, for the strip (its verdict is the note below).
fn pace_word(status: db::projection::Status) -> String {
    use db::projection::Status;
    match status {
        Status::Done => "done".to_owned(),
        Status::Stalled => "stalled".to_owned(),
        Status::NoTarget => "no target date".to_owned(),
        Status::OnTrack => "on track".to_owned(),
        Status::Behind { weeks } => format!("behind by {weeks} wk"),
    }
}

/// One figure of the week with how it compares with the week before.
fn trend(this: i64, before: i64) -> String {
    match this - before {
        0 => "= the week before".to_owned(),
        d if d > 0 => format!("▲ {d} on the week before"),
        d => format!("▼ {} on the week before", -d),
    }
}

/// The last seven days against the seven before.
#[component]
pub fn ThisWeek(weeks: Weeks, items: Vec<EpicItem>) -> impl IntoView {
    let Weeks { now, this, before } = weeks;
    let week = chrono::Duration::days(7);
    let (opened, closed, merged) = item_changes(&items, now - week, now);
    let (opened_before, closed_before, merged_before) = item_changes(&items, now - week - week, now - week);
    let rows: [(&'static str, i64, i64); 7] = [
        ("fixed", this.fixed, before.fixed),
        ("new", this.new, before.new),
        ("triaged", this.triaged, before.triaged),
        ("claims", this.claims, before.claims),
        ("items opened", opened, opened_before),
        ("items closed", closed, closed_before),
        ("pull requests merged", merged, merged_before),
    ];
    let from = (now - week).format("%Y-%m-%d").to_string();
    // Two quiet weeks say so in one line rather than fourteen zeros.
    let quiet = rows.iter().all(|(_, n, b)| *n == 0 && *b == 0);
    let figures = (!quiet).then(|| {
        view! {
            <dl class="mt-2 grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-7">
                {rows.into_iter().map(|(label, n, b)| view! {
                    <div class="rounded border border-slate-200 px-3 py-2 dark:border-slate-800" data-testid="week-figure">
                        <dt class="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
                        <dd class="text-lg font-semibold tabular-nums">{thousands(n)}</dd>
                        <dd class="text-xs text-slate-600 dark:text-slate-300">{trend(n, b)}</dd>
                    </div>
                }).collect_view()}
            </dl>
        }
    });
    view! {
        <section aria-labelledby="week-heading" class="mt-6" data-testid="this-week">
            <h2 id="week-heading" class="text-lg font-semibold">"This week"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="week-summary">
                {if quiet {
                    format!("Nothing changed in the last fourteen days (since {}, UTC): no finding fixed, new or triaged, no claim, no epic item opened or closed, no pull request merged.", (now - week - week).format("%Y-%m-%d"))
                } else {
                    format!("The last seven days (since {from}, UTC), against the seven before.")
                }}
            </p>
            {figures}
        </section>
    }
}

/// The epic's items, the stalest open ones first (least recent activity on GitHub), then the
/// done ones, most recently done first.
pub fn by_staleness(items: &mut [EpicItem]) {
    items.sort_by(|a, b| {
        let done = |i: &EpicItem| !matches!(i.state.as_str(), "open" | "draft");
        done(a).cmp(&done(b)).then_with(|| {
            if done(a) {
                b.done_at.cmp(&a.done_at)
            } else {
                a.updated_at.cmp(&b.updated_at)
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(number: i32, is_pull: bool, state: &str, created: &str, updated: &str, done: Option<&str>) -> EpicItem {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        EpicItem {
            repository: "openedx/openedx-platform".into(),
            number,
            title: format!("item {number}"),
            html_url: String::new(),
            is_pull,
            state: state.into(),
            done_at: done.map(at),
            created_at: at(created),
            updated_at: at(updated),
            assignees: Vec::new(),
            open: 0,
            fixed: 0,
            touched_open: 0,
            touched_fixed: 0,
            about: Vec::new(),
            names_place: true,
            repository_scanned: false,
            scanned_files_only: None,
            pulls: Vec::new(),
        }
    }

    #[test]
    fn the_weeks_items_are_counted_in_their_window() {
        let items = [
            item(1, false, "open", "2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z", None),
            item(2, false, "closed", "2026-06-01T00:00:00Z", "2026-07-03T00:00:00Z", Some("2026-07-03T00:00:00Z")),
            item(3, true, "merged", "2026-06-20T00:00:00Z", "2026-07-06T00:00:00Z", Some("2026-07-06T00:00:00Z")),
            item(4, true, "closed", "2026-06-20T00:00:00Z", "2026-07-06T00:00:00Z", Some("2026-07-06T00:00:00Z")),
        ];
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(item_changes(&items, at("2026-06-30T00:00:00Z"), at("2026-07-07T00:00:00Z")), (1, 1, 1));
        assert_eq!(item_changes(&items, at("2026-06-23T00:00:00Z"), at("2026-06-30T00:00:00Z")), (0, 0, 0));
    }

    #[test]
    fn open_items_come_stalest_first_then_the_done_ones_newest_first() {
        let mut items = vec![
            item(1, false, "closed", "2026-06-01T00:00:00Z", "2026-07-08T00:00:00Z", Some("2026-07-08T00:00:00Z")),
            item(2, false, "open", "2026-06-01T00:00:00Z", "2026-09-01T00:00:00Z", None),
            item(3, false, "open", "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z", None),
            item(4, true, "merged", "2026-06-01T00:00:00Z", "2026-07-09T00:00:00Z", Some("2026-07-09T00:00:00Z")),
            item(5, true, "draft", "2026-06-01T00:00:00Z", "2026-08-01T00:00:00Z", None),
        ];
        by_staleness(&mut items);
        assert_eq!(items.iter().map(|i| i.number).collect::<Vec<_>>(), [3, 5, 2, 4, 1]);
    }

    #[test]
    fn trends_say_which_way_and_by_how_much() {
        assert_eq!(trend(3, 1), "▲ 2 on the week before");
        assert_eq!(trend(0, 2), "▼ 2 on the week before");
        assert_eq!(trend(0, 0), "= the week before");
        assert_eq!(pace_word(db::projection::Status::Stalled), "stalled");
        assert_eq!(pace_word(db::projection::Status::Behind { weeks: 3 }), "behind by 3 wk");
    }
}

//! Small building blocks every page uses: progress bars, state badges, alerts, links.

use leptos::prelude::*;

use db::{
    kinds::{ScanStatus, TargetKind},
    views::{Progress, TargetSummary},
};

pub const BUTTON: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600 disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800";
pub const PRIMARY_BUTTON: &str = "rounded bg-indigo-700 px-3 py-1 text-sm font-medium text-white hover:bg-indigo-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-50";
pub const INPUT: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600 dark:border-slate-700 dark:bg-slate-900";
pub const LINK: &str =
    "text-indigo-700 underline-offset-2 hover:underline focus-visible:outline-2 dark:text-indigo-300";

/// Fixed and triaged-away shares of the scope as a bar, plus the numbers in words (the
/// colour is never the only signal). With nothing in scope there is no bar: nothing to do
/// is not the same as done.
#[component]
pub fn ProgressBar(progress: Progress, #[prop(optional)] label: Option<String>) -> impl IntoView {
    let total = progress.total();
    if total == 0 {
        // UT100 alone: places already migrated are information, never a bar.
        let text = match progress.migrated {
            0 => "nothing in scope".to_owned(),
            1 => "1 place already on context variables (information)".to_owned(),
            n => format!("{n} places already on context variables (information)"),
        };
        return view! {
            <span class="text-xs text-slate-500 dark:text-slate-400" data-testid="no-scope">{text}</span>
        }
        .into_any();
    }
    let share = |n: i64| 100.0 * n as f64 / total as f64;
    let mut text =
        format!("{} fixed of {} ({} %)", progress.fixed, total, db::progress::percent_text(progress.fixed, total));
    if progress.triaged_away > 0 {
        text.push_str(&format!(" · {} triaged away", progress.triaged_away));
    }
    let aria = label.map(|l| format!("{l}: {text}")).unwrap_or_else(|| text.clone());
    let done = progress.percent_done().unwrap_or(0.0);
    view! {
        <div class="flex flex-wrap items-center gap-x-2">
            <div
                class="flex h-2.5 min-w-16 flex-1 overflow-hidden rounded bg-slate-200 dark:bg-slate-700"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{done:.1}")
                aria-label=aria
            >
                <div class="h-full bg-emerald-600" style=format!("width: {:.2}%", share(progress.fixed))></div>
                <div class="h-full bg-slate-400 dark:bg-slate-500" style=format!("width: {:.2}%", share(progress.triaged_away))></div>
            </div>
            <span class="text-xs tabular-nums text-slate-600 dark:text-slate-300">{text}</span>
        </div>
    }
    .into_any()
}

/// Where a target stands, truthfully: "not scanned" (grey) when no scan finished, "last scan
/// failed", "nothing found" when a scan saw nothing in scope, else its progress bar; a scan
/// of some files only, a partial scan, findings left out (in modules nothing tracked imports)
/// and open GitHub items say so beside it.
#[component]
pub fn TargetProgress(summary: TargetSummary) -> impl IntoView {
    let note = |text: String| view! { <span class="text-xs text-slate-600 dark:text-slate-300">{text}</span> };
    let grey =
        "inline-block rounded bg-slate-200 px-1.5 py-0.5 text-xs text-slate-700 dark:bg-slate-700 dark:text-slate-100";
    let main = match summary.last_scan_status {
        None => view! { <span class=grey data-testid="not-scanned">"not scanned"</span> }.into_any(),
        Some(ScanStatus::Failed) if summary.progress.total() == 0 => {
            view! { <span class=grey data-testid="scan-failed">"last scan failed: nothing known"</span> }.into_any()
        }
        // Everything it has is where tracked code is not known to reach: not "nothing".
        Some(_) if summary.progress.total() == 0 && summary.left_out > 0 => {
            view! { <span class=grey data-testid="all-left-out">{format!("{} not known to be reached", summary.left_out)}</span> }
                .into_any()
        }
        Some(_) if summary.progress.total() == 0 => {
            view! { <span class=grey data-testid="nothing-found">"nothing found"</span> }.into_any()
        }
        Some(_) => view! { <ProgressBar progress=summary.progress.clone() label=summary.name.clone() /> }.into_any(),
    };
    let partial = match summary.last_scan_status {
        Some(ScanStatus::Partial) => Some(format!(
            "partial scan: {} {} not read",
            summary.files_failed,
            if summary.files_failed == 1 { "file" } else { "files" }
        )),
        Some(ScanStatus::Failed) if summary.progress.total() > 0 => {
            Some("last scan failed: these are the findings of an earlier scan".to_owned())
        }
        _ => None,
    };
    // A scan of some files only: the bar is about them, and says so.
    let scope = summary.scope.as_ref().map(|scope| scope.sentence(&summary.name));
    let left_out = (summary.left_out > 0 && summary.progress.total() > 0)
        .then(|| format!("and {} not known to be reached, left out", summary.left_out));
    let items = (summary.epic_items_open > 0).then(|| {
        format!(
            "{} open GitHub {}",
            summary.epic_items_open,
            if summary.epic_items_open == 1 { "item" } else { "items" }
        )
    });
    view! {
        <div class="space-y-0.5" data-testid="target-progress">
            {main}
            {scope.map(|text| view! { <span class="block text-xs text-amber-800 dark:text-amber-200" data-testid="scan-scope">{text}</span> })}
            {partial.map(note)}
            {left_out.map(note)}
            {items.map(note)}
        </div>
    }
}

/// A finding's progress state as text on a tinted badge.
#[component]
pub fn StateBadge(state: String) -> impl IntoView {
    let (label, class) = match state.as_str() {
        "open" => ("open", "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100"),
        "fixed" => ("fixed", "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100"),
        "migrated" => ("migrated", "bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100"),
        "triaged_away" => ("triaged away", "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100"),
        "merged" => ("merged", "bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100"),
        "closed" => ("closed", "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100"),
        "queued" => ("queued", "bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100"),
        "failed" => ("failed", "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100"),
        "cancelled" => ("cancelled", "bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100"),
        "draft" => ("draft", "bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200"),
        _ => ("?", "bg-slate-100 text-slate-700"),
    };
    let label = if label == "?" { state.clone() } else { label.to_owned() };
    view! { <span data-testid="state-badge" class=format!("rounded px-1.5 py-0.5 text-xs font-medium {class}")>{label}</span> }
}

/// An error for the user, announced to screen readers.
#[component]
pub fn Alert(message: String) -> impl IntoView {
    view! {
        <p role="alert" data-testid="alert" class="mt-3 rounded border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
            {message}
        </p>
    }
}

/// The text of a server function error, without the framework's prefix.
pub fn error_text(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// `text` safe to write between HTML tags or in a quoted attribute (`&`, `<`, `>`, `"`, `'`),
/// for the few places that write HTML text themselves (the page title).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `/repos/owner/name` for a repository, `/deps/name` for a dependency.
pub fn target_href(name: &str, kind: TargetKind) -> String {
    if kind.is_repository() {
        format!("/repos/{name}")
    } else {
        format!("/deps/{name}")
    }
}

pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `path?k=v&...` with the non-empty values, form-encoded (readable: `week=2026-W47`).
pub fn href_with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()));
    match query.finish() {
        query if query.is_empty() => path.to_string(),
        query => format!("{path}?{query}"),
    }
}

/// The error of a form posted without JavaScript: the server sent the browser back here
/// with it in the URL. Shown once per page, whichever form failed.
#[component]
pub fn FormError() -> impl IntoView {
    use leptos::server_fn::error::ServerFnUrlError;
    let error = use_context::<leptos::server::ServerActionError>()
        .map(|e| error_text(&ServerFnUrlError::<ServerFnError>::decode_err(e.err())));
    error.map(|message| view! { <Alert message /> })
}

/// Where the findings the pages leave out by default are.
pub const LEFT_OUT: &str =
    "where tracked code is not known to reach them (in modules nothing imports, or writes no request or task is known to make)";

/// Whether a page's URL asks to count findings tracked code is not known to reach too
/// (`?unreached=1`: in modules nothing imports, UT013 writes no request or task is known to
/// make); the pages leave them out by default.
pub fn include_unreached(query: &leptos_router::params::ParamsMap) -> bool {
    matches!(query.get("unreached").as_deref(), Some("1" | "on" | "yes"))
}

/// The line that says what the counts below leave out (open findings tracked code is not
/// known to reach, [`LEFT_OUT`]) and links to the same page with them, or without them again. Shown
/// whenever there are any: what is hidden is always counted.
#[component]
pub fn UnreachedNote(
    /// Open findings tracked code is not known to reach.
    count: i64,
    /// Whether the counts below include them.
    included: bool,
    /// The page's URL with them.
    show: String,
    /// The page's URL without them.
    hide: String,
) -> impl IntoView {
    let findings = if count == 1 { "open finding is" } else { "open findings are" };
    (count > 0).then(|| {
        view! {
            <p class="mt-2 text-sm text-slate-600 dark:text-slate-300" data-testid="unreached-note">
                {if included {
                    view! {
                        {format!("Counting everything: {} {findings} {LEFT_OUT}. ", db::progress::thousands(count))}
                        <a class=LINK href=hide data-testid="unreached-toggle">"Leave them out"</a>
                    }
                    .into_any()
                } else {
                    view! {
                        {format!("{} more {findings} {LEFT_OUT}, left out of these counts: ", db::progress::thousands(count))}
                        <a class=LINK href=show data-testid="unreached-toggle">"count them"</a>
                    }
                    .into_any()
                }}
            </p>
        }
    })
}

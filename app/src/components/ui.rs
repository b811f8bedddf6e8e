//! Small building blocks every page uses: progress bars, state badges, alerts, links.

use leptos::prelude::*;

use db::{
    kinds::TargetKind,
    views::{GitHubLink, Progress},
};

pub const BUTTON: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600 disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800";
pub const PRIMARY_BUTTON: &str = "rounded bg-indigo-700 px-3 py-1 text-sm font-medium text-white hover:bg-indigo-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-50";
pub const INPUT: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600 dark:border-slate-700 dark:bg-slate-900";
pub const LINK: &str =
    "text-indigo-700 underline-offset-2 hover:underline focus-visible:outline-2 dark:text-indigo-300";

/// Done share as a bar plus the numbers in words (the colour is never the only signal).
#[component]
pub fn ProgressBar(progress: Progress, #[prop(optional)] label: Option<String>) -> impl IntoView {
    let percent = progress.percent_done();
    let done = progress.fixed + progress.migrated;
    let total = progress.total();
    let text = format!("{done} of {total} done ({percent:.0}%)");
    let aria = label.map(|l| format!("{l}: {text}")).unwrap_or_else(|| text.clone());
    view! {
        <div class="flex items-center gap-2">
            <div
                class="h-2.5 w-full min-w-16 overflow-hidden rounded bg-slate-200 dark:bg-slate-700"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{percent:.0}")
                aria-label=aria
            >
                <div class="h-full bg-emerald-600" style=format!("width: {percent:.1}%")></div>
            </div>
            <span class="whitespace-nowrap text-xs tabular-nums text-slate-600 dark:text-slate-300">{text}</span>
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

/// Linked GitHub issues and pull requests with their state.
#[component]
pub fn GitHubList(items: Vec<GitHubLink>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="text-sm text-slate-600 dark:text-slate-300">"No linked issues or pull requests."</p> }.into_any();
    }
    view! {
        <ul class="space-y-1" data-testid="github-items">
            {items
                .into_iter()
                .map(|item| {
                    let kind = if item.kind == "pull" { "PR" } else { "issue" };
                    view! {
                        <li class="flex flex-wrap items-center gap-2 text-sm" data-testid=format!("github-{}", item.kind)>
                            <StateBadge state=item.state.clone() />
                            <span class="text-xs text-slate-500 dark:text-slate-400">{kind}</span>
                            <a class=LINK href=item.url.clone() rel="external noopener">
                                {format!("{}#{}", item.repository, item.number)}
                            </a>
                            <span>{item.title.clone()}</span>
                            {(!item.assignees.is_empty()).then(|| view! {
                                <span class="text-xs text-slate-500 dark:text-slate-400">{format!("assigned: {}", item.assignees.join(", "))}</span>
                            })}
                            <span class="text-xs text-slate-400">{format!("({})", item.how)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
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

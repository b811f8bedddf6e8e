//! Opening pull requests from the pages: "Open a pull request" for one finding's fix, "Fix
//! all <rule>" for a repository, and what became of a change ([`ChangeNote`]). Plain HTML
//! forms posted to [`open_change`] (no browser code); the server checks what they select and
//! who asks (`server::jobs::changes::request`), and says why when this server cannot open
//! pull requests at all (the demo; no GitHub token).

use leptos::{prelude::*, server_fn::ServerFn};

use super::ui::{StateBadge, BUTTON, LINK, PRIMARY_BUTTON};
use db::views::{ChangeView, FixView};

/// Queues a pull request: for `finding` (an id), for every fixable finding of `rule` in
/// `target` (`unsafe_fixes`, a checkbox: unsafe fixes too), or bumping dependency `bump`'s
/// pin (in `target`'s requirements files). Answers the change's id (the same change again
/// for a repeated request).
#[server(prefix = "/api", endpoint = "open_change")]
pub async fn open_change(
    finding: Option<String>,
    target: Option<String>,
    rule: Option<String>,
    unsafe_fixes: Option<String>,
    bump: Option<String>,
) -> Result<i64, ServerFnError> {
    use crate::error::AppError;
    use crate::jobs::ChangeRequest;
    let user = crate::server::require_user().await?;
    let state = crate::server::state()?;
    if let Some(why) = state.pull_requests_unavailable.clone() {
        return Err(AppError::unprocessable(why).into());
    }
    let unsafe_fixes = unsafe_fixes.is_some_and(|v| !v.is_empty() && v != "false");
    let given = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let request = match (given(finding), given(target), given(rule), given(bump)) {
        (Some(id), None, None, None) => {
            ChangeRequest::Findings { findings: vec![crate::server::parse_id(&id)?], unsafe_fixes }
        }
        (None, Some(target), Some(rule), None) => ChangeRequest::Rule { target, rule, unsafe_fixes },
        (None, target, None, Some(bump)) => ChangeRequest::Bump { bump, target },
        _ => return Err(AppError::bad_request("give a finding, a target and a rule, or a dependency to bump").into()),
    };
    let queue =
        state.rescans.ok_or_else(|| AppError::Unavailable("no job queue here".into()).into_server_fn_error())?;
    let requested = queue.request_change(&request, &user).await.map_err(|e| e.into_server_fn_error())?;
    crate::server::changed();
    Ok(requested.change.id)
}

/// What a change says about itself: its state, its pull request or why it has none.
#[component]
pub fn ChangeNote(change: ChangeView) -> impl IntoView {
    let state = change.state.as_str().to_owned();
    let pull = change.pull_number.zip(change.pull_url.clone());
    let fixed = (change.findings_fixed > 0)
        .then(|| format!(" · {} of {} fixed by a scan", change.findings_fixed, change.findings.len()));
    view! {
        <p class="mt-2 text-sm" data-testid="change-note">
            <StateBadge state />" "
            {match pull {
                Some((number, url)) => view! {
                    <a class=LINK href=url target="_blank" rel="noopener">{format!("Pull request #{number}")}</a>
                }.into_any(),
                None => view! { <span>"No pull request yet"</span> }.into_any(),
            }}
            " · " <a class=LINK href=format!("/changes#change-{}", change.id)>{format!("change {}", change.id)}</a>
            {format!(" · asked by {}", change.requested_by)}
            {fixed}
            {change.reason.clone().map(|r| view! { <span class="block text-xs text-slate-600 dark:text-slate-300">{r}</span> })}
        </p>
    }
}

/// "Open a pull request" for one finding's fix — or why it cannot be opened here.
#[component]
pub fn OpenPullRequest(finding: i64, safe: bool, unavailable: Option<String>) -> impl IntoView {
    match unavailable {
        Some(why) => view! { <p class="mt-2 text-sm text-slate-600 dark:text-slate-300" data-testid="pull-request-unavailable">{why}</p> }
            .into_any(),
        None => view! {
            <form method="post" action=OpenChange::url() class="mt-2 flex flex-wrap items-center gap-2" data-testid="open-pull-request">
                <input type="hidden" name="finding" value=finding.to_string() />
                {(!safe).then(|| view! { <input type="hidden" name="unsafe_fixes" value="on" /> })}
                <button type="submit" class=PRIMARY_BUTTON>"Open a pull request"</button>
                <span class="text-xs text-slate-600 dark:text-slate-300">
                    {if safe { "Unthread commits this fix on a new branch after verifying it by a rescan" } else { "An unsafe fix: the pull request says so, for review" }}
                </span>
            </form>
        }
        .into_any(),
    }
}

/// A repository's fixable open findings of one rule, for its "Fix all" offer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RuleFixes {
    pub rule: String,
    pub name: String,
    pub safe: i64,
    pub unsafe_count: i64,
    /// The first fixes, as the pull request would make them.
    pub previews: Vec<db::views::FixPreview>,
    /// The queued or open change of this rule, if one is.
    pub change: Option<ChangeView>,
}

/// "Fix all <rule> (N)" per rule with a fix, each with a preview of its diffs.
#[component]
pub fn FixAll(target: String, rules: Vec<RuleFixes>, unavailable: Option<String>, allowed: bool) -> impl IntoView {
    if rules.is_empty() {
        return ().into_any();
    }
    let can = unavailable.is_none() && allowed;
    view! {
        <section aria-labelledby="fixes-heading" class="mt-6" data-testid="fix-all">
            <h2 id="fixes-heading" class="text-lg font-semibold">"Mechanical fixes"</h2>
            <p class="text-sm text-slate-600 dark:text-slate-300">
                "Open findings the scanner can fix. A pull request applies the fixes to the default branch's head, verified by a rescan, and links the findings."
            </p>
            {unavailable.map(|why| view! { <p class="mt-1 text-sm" data-testid="pull-request-unavailable">{why}</p> })}
            <ul class="mt-2 space-y-3">
                {rules.into_iter().map(|fixes| view! { <FixAllRule target=target.clone() fixes can /> }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// One rule's "Fix all" offer: the button (when this person may ask and no change of the rule
/// is live), the rule's live change, and the preview.
#[component]
fn FixAllRule(target: String, fixes: RuleFixes, can: bool) -> impl IntoView {
    let r = fixes;
    let total = r.safe + r.unsafe_count;
    let label = format!("Fix all {} ({total})", r.rule);
    let more = total - r.previews.len() as i64;
    let diff: String = r
        .previews
        .iter()
        .map(|p| {
            format!("# {}:{} (finding {})\n{}", p.path, p.line, p.finding_id, fix_diff(&p.fix, p.line, &p.snippet))
        })
        .collect();
    let button = (can && r.change.is_none()).then(|| {
        view! {
            <form method="post" action=OpenChange::url() class="flex items-center gap-2">
                <input type="hidden" name="target" value=target />
                <input type="hidden" name="rule" value=r.rule.clone() />
                {(r.unsafe_count > 0).then(|| view! {
                    <label class="text-xs"><input type="checkbox" name="unsafe_fixes" value="on" checked=r.safe == 0 />" with unsafe fixes"</label>
                })}
                <button type="submit" class=BUTTON>{label}</button>
            </form>
        }
        .into_any()
    });
    let preview = view! {
        <details class="mt-2">
            <summary class="cursor-pointer text-sm">"Preview the fixes"</summary>
            <pre class="mt-1 max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-testid="fix-all-diff"><code>{diff}</code></pre>
            {(more > 0).then(|| view! { <p class="text-xs">{format!("and {more} more")}</p> })}
        </details>
    }
    .into_any();
    view! {
        <li class="rounded border border-slate-200 p-3 dark:border-slate-700" data-testid=format!("fix-all-{}", r.rule)>
            <div class="flex flex-wrap items-center gap-2">
                <span class="font-medium"><a class=LINK href=format!("/rules/{}", r.rule)>{r.rule.clone()}</a>" "{r.name.clone()}</span>
                <span class="text-sm text-slate-600 dark:text-slate-300">{fix_counts(r.safe, r.unsafe_count)}</span>
                {button}
            </div>
            {r.change.map(|change| view! { <ChangeNote change /> })}
            {preview}
        </li>
    }
}

fn fix_counts(safe: i64, unsafe_count: i64) -> String {
    match (safe, unsafe_count) {
        (s, 0) => format!("{s} safe"),
        (0, u) => format!("{u} unsafe (review them)"),
        (s, u) => format!("{s} safe, {u} unsafe"),
    }
}

/// A stored fix's edits as diff lines: an edit within the finding's own line shows that line
/// before and after; another shows what it inserts or which lines it removes.
pub fn fix_diff(fix: &FixView, line: i32, snippet: &str) -> String {
    let mut out = String::new();
    let on_line = |e: &db::views::FixEdit| e.start_line == e.end_line && i64::from(e.start_line) == i64::from(line);
    let local: Vec<&db::views::FixEdit> = fix.edits.iter().filter(|e| on_line(e)).collect();
    for edit in fix.edits.iter().filter(|e| !on_line(e)) {
        let inserted = edit.content.trim_matches(['\r', '\n']);
        if edit.start_line == edit.end_line && edit.start_column == edit.end_column {
            for text in inserted.lines() {
                out.push_str(&format!("+ {text}    (after line {})\n", edit.start_line));
            }
        } else {
            let last = if edit.end_column == 1 { edit.end_line.saturating_sub(1) } else { edit.end_line };
            out.push_str(&format!("- lines {}–{} removed\n", edit.start_line, last.max(edit.start_line)));
            for text in inserted.lines() {
                out.push_str(&format!("+ {text}\n"));
            }
        }
    }
    if !local.is_empty() {
        let mut after: Vec<char> = snippet.chars().collect();
        let mut sorted = local.clone();
        sorted.sort_by_key(|e| std::cmp::Reverse(e.start_column));
        for edit in sorted {
            let start = (edit.start_column as usize).saturating_sub(1).min(after.len());
            let end = (edit.end_column as usize).saturating_sub(1).clamp(start, after.len());
            after.splice(start..end, edit.content.chars());
        }
        out.push_str(&format!("- {snippet}\n+ {}\n", after.into_iter().collect::<String>()));
    }
    out
}

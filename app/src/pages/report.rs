//! `/reports/weekly`: a week's status report, previewed exactly as it is posted (its
//! Markdown rendered), with downloads in every format and, for maintainers, posting it to
//! the epic on GitHub. The week and timezone are in the URL (`?week=2026-W47&tz=UTC`).

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::ui::{error_text, href_with_query, Alert, FormError, BUTTON, INPUT, LINK, PRIMARY_BUTTON};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportPreview {
    pub week: String,
    pub previous: String,
    /// None while the next week has not started.
    pub next: Option<String>,
    pub timezone: String,
    /// The Markdown report rendered to HTML (outside text escaped).
    pub html: String,
    /// (label, URL) of each download.
    pub downloads: Vec<(String, String)>,
    /// `owner/repo#number` reports are posted to, when this viewer may post.
    pub post_to: Option<String>,
    /// The comment this week's report was last posted as there, when it was.
    pub posted: Option<String>,
}

#[server(prefix = "/api", endpoint = "weekly_report")]
pub async fn weekly_report(week: Option<String>, tz: Option<String>) -> Result<ReportPreview, ServerFnError> {
    use crate::report::{Format, IsoWeek};
    let app = crate::server::state()?;
    let options = app
        .reports
        .resolve(week.as_deref(), tz.as_deref())
        .map_err(|e| crate::error::AppError::bad_request(e).into_server_fn_error())?;
    let (week, timezone) = (options.week, options.timezone);
    let key = format!("report:{week}:{}", timezone.name());
    let pool = app.pool.clone();
    let report = crate::server::cached(key, async move { crate::report::build(&pool, &options).await }).await?;
    let this_week = IsoWeek::containing(chrono::Utc::now(), timezone);
    let tz_query = timezone.name().to_owned();
    let downloads = [
        ("Markdown", Format::Markdown),
        ("JSON", Format::Json),
        ("CSV: targets", Format::Csv),
        ("CSV: changes", Format::ChangesCsv),
    ]
    .into_iter()
    .map(|(label, format)| {
        (
            label.to_owned(),
            href_with_query(&format!("/reports/weekly/{}", report.file_name(format)), &[("tz", &tz_query)]),
        )
    })
    .collect();
    let maintainer = crate::server::viewer().await?.is_some_and(|u| u.is_maintainer());
    let post_to = app.reports.publisher.as_ref().filter(|_| maintainer).map(|p| p.destination());
    let posted = match post_to.as_deref().and_then(|to| to.rsplit_once('#')) {
        Some((repository, number)) => match number.parse::<i32>() {
            Ok(number) => db::models::reports::latest_post(&app.pool, repository, number, &week.to_string())
                .await
                .map_err(crate::server::database_error)?
                .map(|post| post.html_url),
            Err(_) => None,
        },
        None => None,
    };
    Ok(ReportPreview {
        week: week.to_string(),
        previous: week.previous().to_string(),
        next: (week < this_week).then(|| week.next().to_string()),
        timezone: tz_query,
        html: crate::markdown::to_html(&report.render(Format::Markdown)),
        downloads,
        post_to,
        posted,
    })
}

#[server(prefix = "/api", endpoint = "post_weekly_report")]
pub async fn post_weekly_report(
    week: String,
    tz: Option<String>,
    mode: String,
) -> Result<db::views::PostedReport, ServerFnError> {
    use crate::report::{publish::PostMode, Format};
    let user = crate::server::require_maintainer().await?;
    let app = crate::server::state()?;
    let Some(publisher) = app.reports.publisher.clone() else {
        return Err(crate::error::AppError::conflict(
            "posting is not set up: start the server with --report-issue owner/repo#number and a GitHub token",
        )
        .into_server_fn_error());
    };
    let mode = PostMode::parse(&mode).ok_or_else(|| {
        crate::error::AppError::bad_request("mode must be once, update or force").into_server_fn_error()
    })?;
    let options = app
        .reports
        .resolve(Some(&week), tz.as_deref())
        .map_err(|e| crate::error::AppError::bad_request(e).into_server_fn_error())?;
    let report = crate::report::build(&app.pool, &options).await.map_err(crate::server::database_error)?;
    let markdown = report.render(Format::Markdown);
    let posted = publisher.publish(&report.week, &markdown, mode, Some(&user.login)).await.map_err(|e| {
        if e.conflict {
            crate::error::AppError::conflict(e.message)
        } else {
            crate::error::AppError::Upstream(e.message)
        }
        .into_server_fn_error()
    })?;
    crate::server::changed();
    Ok(db::views::PostedReport { action: posted.action, url: posted.url })
}

#[component]
pub fn WeeklyReportPage() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        let q = query.read();
        (q.get("week"), q.get("tz"))
    });
    let report = Resource::new(move || asked.get(), |(week, tz)| weekly_report(week, tz));
    view! {
        <Title text="Weekly status" />
        <h1 class="text-2xl font-semibold">"Weekly status"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
            "What changed in one ISO week, from rescans, claims and GitHub. Any past week can be regenerated: later activity does not change it."
        </p>
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <Report report /> }.into_any(),
                    Err(err) => view! {
                        <WeekPicker week=String::new() timezone="UTC".into() />
                        <Alert message=error_text(&err) />
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn WeekPicker(week: String, timezone: String) -> impl IntoView {
    view! {
        <form method="get" action="/reports/weekly" class="mt-4 flex flex-wrap items-end gap-3" data-testid="week-picker">
            <label class="flex flex-col text-sm">"Week"
                <input type="week" name="week" value=week class=INPUT required data-testid="week-input" />
            </label>
            <label class="flex flex-col text-sm">"Timezone"
                <input name="tz" value=timezone class=INPUT placeholder="UTC or Europe/Paris" />
            </label>
            <button type="submit" class=BUTTON>"Show"</button>
        </form>
    }
}

#[component]
fn Report(report: ReportPreview) -> impl IntoView {
    let week_href = |week: &str| href_with_query("/reports/weekly", &[("week", week), ("tz", &report.timezone)]);
    let previous = week_href(&report.previous);
    let next = report.next.as_deref().map(week_href);
    view! {
        <WeekPicker week=report.week.clone() timezone=report.timezone.clone() />
        <nav class="mt-3 flex flex-wrap gap-4 text-sm" aria-label="Weeks">
            <a href=previous class=LINK data-testid="previous-week">{format!("← {}", report.previous)}</a>
            {next.map(|href| view! { <a href=href class=LINK data-testid="next-week">"Next week →"</a> })}
        </nav>
        <section class="mt-4" aria-labelledby="downloads-heading">
            <h2 id="downloads-heading" class="text-lg font-semibold">"Download"</h2>
            <ul class="mt-2 flex flex-wrap gap-3">
                {report.downloads.iter().map(|(label, href)| view! {
                    <li><a href=href.clone() download="" rel="external" class=BUTTON data-testid="download">{label.clone()}</a></li>
                }).collect_view()}
            </ul>
        </section>
        {report.post_to.clone().map(|to| view! { <PostForm week=report.week.clone() timezone=report.timezone.clone() to posted=report.posted.clone() /> })}
        <article class="prose-unthread mt-6 overflow-x-auto rounded border border-slate-200 p-4 dark:border-slate-800"
            data-testid="report-preview" inner_html=report.html.clone()></article>
    }
}

/// Posting: a plain form (no script needed). The page comes back showing where the week's
/// report now is on GitHub, or the refusal (through [`FormError`]).
#[component]
fn PostForm(week: String, timezone: String, to: String, posted: Option<String>) -> impl IntoView {
    view! {
        <section class="mt-4" aria-labelledby="post-heading">
            <h2 id="post-heading" class="text-lg font-semibold">"Post to GitHub"</h2>
            <FormError />
            <form method="post" action=PostWeeklyReport::url() class="mt-2 flex flex-wrap items-center gap-2" data-testid="post-form">
                <input type="hidden" name="week" value=week />
                <input type="hidden" name="tz" value=timezone />
                <label class="text-sm" for="post-mode">"If already posted"</label>
                <select id="post-mode" name="mode" class=INPUT>
                    <option value="once">"refuse"</option>
                    <option value="update">"update that comment"</option>
                    <option value="force">"post another comment"</option>
                </select>
                <button type="submit" class=PRIMARY_BUTTON>{format!("Post as a comment on {to}")}</button>
            </form>
            {posted.map(|url| view! {
                <p class="mt-2 text-sm" role="status" data-testid="posted">"Posted: "
                    <a href=url.clone() class=LINK rel="external">{url.clone()}</a></p>
            })}
        </section>
    }
}

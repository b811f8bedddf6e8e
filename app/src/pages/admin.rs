//! `/admin` (maintainers): is Unthread keeping itself current? The job queue by kind and
//! state, what runs now and what it is doing, recent failures with their error and a Retry
//! button, dead jobs, waiting jobs with Cancel, the last GitHub sync, each target's last scan
//! with its commit or version and age ("Rescan now"), the last 50 webhook deliveries and what
//! they led to, and the API tokens CI uploads with. Live: every job change is announced on
//! the page's stream.

use leptos::{form::ActionForm, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{error_text, target_href, when, Alert, FormError, BUTTON, INPUT, LINK, PRIMARY_BUTTON};
use db::views::{DeliveryView, JobView, LastScanView, QueueCount, SyncRunView, TokenInfo};

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminView {
    pub counts: Vec<QueueCount>,
    pub running: Vec<JobView>,
    pub pending: Vec<JobView>,
    pub failures: Vec<JobView>,
    pub dead: Vec<JobView>,
    pub last_sync: Option<SyncRunView>,
    pub scans: Vec<LastScanView>,
    pub deliveries: Vec<DeliveryView>,
    pub tokens: Vec<TokenInfo>,
    pub target: Option<db::views::CampaignTarget>,
    pub now: chrono::DateTime<chrono::Utc>,
}

#[server(prefix = "/api", endpoint = "admin")]
pub async fn admin_overview() -> Result<AdminView, ServerFnError> {
    use db::models::{github, jobs, targets, tokens};
    crate::server::require_maintainer().await?;
    let pool = crate::server::state()?.pool;
    let failed = crate::server::database_error;
    let list = |filter, limit| {
        let pool = pool.clone();
        async move {
            jobs::list(&pool, filter, limit)
                .await
                .map(|rows| rows.into_iter().map(jobs::JobRow::view).collect::<Vec<_>>())
        }
    };
    let counts = jobs::counts(&pool)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|c| QueueCount { kind: c.kind, state: c.state, count: c.count })
        .collect();
    Ok(AdminView {
        counts,
        running: list(jobs::JobFilter::Running, 50).await.map_err(failed)?,
        pending: list(jobs::JobFilter::Pending, 50).await.map_err(failed)?,
        failures: list(jobs::JobFilter::RecentFailures, 20).await.map_err(failed)?,
        dead: list(jobs::JobFilter::Dead, 50).await.map_err(failed)?,
        last_sync: github::last_sync_run(&pool).await.map_err(failed)?,
        scans: targets::last_scans(&pool).await.map_err(failed)?,
        deliveries: github::recent_deliveries(&pool, 50)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|d| DeliveryView {
                id: d.delivery_id,
                event: d.event,
                action: d.action,
                received_at: d.received_at,
                outcome: d.outcome,
            })
            .collect(),
        tokens: tokens::list(&pool).await.map_err(failed)?,
        target: db::models::campaign::target(&pool).await.map_err(failed)?,
        now: chrono::Utc::now(),
    })
}

#[cfg(feature = "ssr")]
fn job_id(text: &str) -> Result<uuid::Uuid, ServerFnError> {
    text.trim()
        .parse()
        .map_err(|_| crate::error::AppError::bad_request(format!("{text:?} is not a job id")).into_server_fn_error())
}

#[server(prefix = "/api", endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<(), ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let id = job_id(&id)?;
    let pool = crate::server::state()?.pool;
    crate::jobs::retry(&pool, id, &user.login).await.map_err(|e| e.into_server_fn_error())
}

#[server(prefix = "/api", endpoint = "cancel_job")]
pub async fn cancel_job(id: String) -> Result<(), ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let id = job_id(&id)?;
    let pool = crate::server::state()?.pool;
    crate::jobs::cancel(&pool, id, &user.login).await.map_err(|e| e.into_server_fn_error())
}

/// The server's job queue, for the actions that queue work.
#[cfg(feature = "ssr")]
fn job_queue() -> Result<std::sync::Arc<dyn crate::jobs::Rescans>, ServerFnError> {
    crate::server::state()?
        .rescans
        .ok_or_else(|| crate::error::AppError::Unavailable("no job queue here".into()).into_server_fn_error())
}

#[server(prefix = "/api", endpoint = "rescan")]
pub async fn rescan(target_id: String) -> Result<Vec<db::views::QueuedJob>, ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let target_id = crate::server::parse_id(&target_id)?;
    let rescans = job_queue()?;
    let queued = rescans.rescan(target_id, &user.login).await.map_err(|e| e.into_server_fn_error())?;
    crate::server::changed();
    Ok(queued)
}

/// "Track a repository": it becomes a target and a worker scans its default branch from
/// GitHub (no checkout).
#[server(prefix = "/api", endpoint = "track_repository")]
pub async fn track_repository(repository: String) -> Result<String, ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let said = job_queue()?.track(repository.trim(), &user.login).await.map_err(|e| e.into_server_fn_error())?;
    crate::server::changed();
    Ok(said)
}

/// "Stop tracking": the repository's history stays; nothing more is scanned.
#[server(prefix = "/api", endpoint = "untrack_repository")]
pub async fn untrack_repository(repository: String) -> Result<String, ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let said = job_queue()?.untrack(repository.trim(), &user.login).await.map_err(|e| e.into_server_fn_error())?;
    crate::server::changed();
    Ok(said)
}

/// A new token: its secret, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: i64,
    pub secret: String,
}

#[server(prefix = "/api", endpoint = "create_token")]
pub async fn create_token(name: String, targets: String) -> Result<CreatedToken, ServerFnError> {
    use db::models::events::{self, About, Event, TokenCreated};
    let user = crate::server::require_maintainer().await?;
    let pool = crate::server::state()?.pool;
    let name = name.trim().to_owned();
    let targets: Vec<String> =
        targets.split([',', ' ', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
    let (id, secret) = db::models::tokens::create(&pool, &name, &targets, user.id).await.map_err(|e| match e {
        db::models::tokens::TokenError::Database(e) => crate::server::database_error(e),
        db::models::tokens::TokenError::Randomness(e) => {
            crate::error::AppError::Internal(format!("no randomness: {e}")).into_server_fn_error()
        }
        refused => crate::error::AppError::bad_request(refused).into_server_fn_error(),
    })?;
    let event = Event::TokenCreated(TokenCreated { token: id, name, targets });
    events::record(&pool, &event, About::by(&user.login)).await.map_err(crate::server::database_error)?;
    Ok(CreatedToken { id, secret })
}

/// Sets the campaign's target date (`YYYY-MM-DD`; blank clears it), with what it is.
#[server(prefix = "/api", endpoint = "set_target_date")]
pub async fn set_target_date(date: Option<String>, label: Option<String>) -> Result<(), ServerFnError> {
    let user = crate::server::require_maintainer().await?;
    let pool = crate::server::state()?.pool;
    let date = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(text) => Some(chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            crate::error::AppError::bad_request(format!("{text:?} is not a date (YYYY-MM-DD)")).into_server_fn_error()
        })?),
    };
    let label = label.as_deref().map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > 200) {
        return Err(crate::error::AppError::bad_request("the label is longer than 200 characters").into());
    }
    db::models::campaign::set_target(&pool, date, label, &user.login).await.map_err(crate::server::database_error)?;
    crate::server::changed();
    Ok(())
}

#[server(prefix = "/api", endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), ServerFnError> {
    use db::models::events::{self, About, Event, TokenRevoked};
    let user = crate::server::require_maintainer().await?;
    let id = crate::server::parse_id(&id)?;
    let pool = crate::server::state()?.pool;
    if !db::models::tokens::revoke(&pool, id, user.id).await.map_err(crate::server::database_error)? {
        return Err(crate::error::AppError::not_found("no live token with that id").into());
    }
    events::record(&pool, &Event::TokenRevoked(TokenRevoked { token: id }), About::by(&user.login))
        .await
        .map_err(crate::server::database_error)?;
    Ok(())
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| admin_overview());
    view! {
        <Title text="Admin" />
        <h1 class="text-2xl font-semibold">"Admin"</h1>
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
            "Is Unthread keeping itself current? Jobs, scans, GitHub deliveries and API tokens. Updates live."
        </p>
        <FormError />
        <Transition fallback=|| view! { <p class="mt-4">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(view) => view! { <Overview view /> }.into_any(),
                    Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

// Each table sits in an `overflow-x-auto` box: on a phone a wide one scrolls sideways
// instead of widening the page.
const TABLE: &str = "mt-2 w-full border-collapse text-left text-sm";
const HEAD: &str = "border-b border-slate-300 py-1 pr-3 font-medium dark:border-slate-700";
const CELL: &str = "border-b border-slate-200 py-1 pr-3 align-top dark:border-slate-800";

/// `3 min`, `2 h`, `5 d` since `at`.
fn age(now: chrono::DateTime<chrono::Utc>, at: chrono::DateTime<chrono::Utc>) -> String {
    let seconds = (now - at).num_seconds().max(0);
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3_599 => format!("{} min", seconds / 60),
        3_600..=172_799 => format!("{} h", seconds / 3_600),
        _ => format!("{} d", seconds / 86_400),
    }
}

fn short(revision: &str) -> String {
    if revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        revision[..12].to_owned()
    } else {
        revision.to_owned()
    }
}

#[component]
fn Overview(view: AdminView) -> impl IntoView {
    let now = view.now;
    view! {
        <QueueCounts counts=view.counts.clone() />
        <JobTable title="Running" testid="running-jobs" jobs=view.running.clone() now empty="Nothing is running." />
        <JobTable title="Recent failures (retried with backoff)" testid="failed-jobs" jobs=view.failures.clone() now empty="No job failed recently." />
        <JobTable title="Dead (no attempt left, or an error retrying cannot fix)" testid="dead-jobs" jobs=view.dead.clone() now empty="No dead job." />
        <JobTable title="Waiting" testid="pending-jobs" jobs=view.pending.clone() now empty="Nothing is waiting." />
        <Tracking />
        <section class="mt-6" aria-labelledby="sync-heading">
            <h2 id="sync-heading" class="text-lg font-semibold">"GitHub sync"</h2>
            {match view.last_sync.clone() {
                None => view! { <p class="mt-1 text-sm" data-testid="last-sync">"No sync has run."</p> }.into_any(),
                Some(run) => view! {
                    <p class="mt-1 text-sm" data-testid="last-sync">
                        {format!("Run #{} {} — started {} ago, {} requests", run.id, run.status, age(now, run.started_at), run.requests)}
                        {run.error.map(|e| format!(": {e}"))}
                    </p>
                }.into_any(),
            }}
        </section>
        <section class="mt-6" aria-labelledby="target-heading">
            <h2 id="target-heading" class="text-lg font-semibold">"Campaign target"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400" data-testid="target-date">
                {match &view.target {
                    Some(t) => format!(
                        "Target {}{} — set by {} {}. The overview and the weekly report project the finish against it.",
                        t.date,
                        t.label.as_ref().map(|l| format!(" ({l})")).unwrap_or_default(),
                        t.set_by,
                        when(&t.set_at)
                    ),
                    None => "No target date: the overview projects the finish without one.".to_owned(),
                }}
            </p>
            <TargetForm date=view.target.as_ref().map(|t| t.date.to_string()).unwrap_or_default() label=view.target.as_ref().and_then(|t| t.label.clone()).unwrap_or_default() />
        </section>
        <Deliveries deliveries=view.deliveries.clone() now />
        <Tokens tokens=view.tokens.clone() />
        <Scans scans=view.scans.clone() now />
    }
}

#[component]
fn QueueCounts(counts: Vec<QueueCount>) -> impl IntoView {
    const STATES: [(&str, &str); 5] = [
        ("pending", "waiting"),
        ("in_progress", "running"),
        ("succeeded", "done"),
        ("failed", "dead"),
        ("cancelled", "cancelled"),
    ];
    let mut kinds: Vec<String> = counts.iter().map(|c| c.kind.clone()).collect();
    kinds.dedup();
    let cell = move |kind: &str, state: &str| {
        counts.iter().find(|c| c.kind == kind && c.state == state).map_or(0, |c| c.count)
    };
    view! {
        <section class="mt-6" aria-labelledby="queue-heading">
            <h2 id="queue-heading" class="text-lg font-semibold">"Queue"</h2>
            {if kinds.is_empty() {
                view! { <p class="mt-1 text-sm">"No job has been queued in the last 14 days."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE data-testid="queue-counts">
                        <thead><tr>
                            <th class=HEAD scope="col">"Kind"</th>
                            {STATES.iter().map(|(_, label)| view! { <th class=HEAD scope="col">{*label}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {kinds.iter().map(|kind| view! {
                                <tr>
                                    <th class=CELL scope="row"><code>{kind.clone()}</code></th>
                                    {STATES.iter().map(|(state, _)| view! { <td class=CELL>{cell(kind, state)}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn JobTable(
    title: &'static str,
    testid: &'static str,
    jobs: Vec<JobView>,
    now: chrono::DateTime<chrono::Utc>,
    empty: &'static str,
) -> impl IntoView {
    let heading = format!("{testid}-heading");
    let labelled_by = heading.clone();
    view! {
        <section class="mt-6" aria-labelledby=labelled_by data-testid=testid>
            <h2 id=heading class="text-lg font-semibold">{title} " (" {jobs.len()} ")"</h2>
            {if jobs.is_empty() {
                view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{empty}</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE>
                        <thead><tr>
                            <th class=HEAD scope="col">"Job"</th>
                            <th class=HEAD scope="col">"Asked by"</th>
                            <th class=HEAD scope="col">"Age"</th>
                            <th class=HEAD scope="col">"Attempts"</th>
                            <th class=HEAD scope="col">"Now / last error"</th>
                            <th class=HEAD scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {jobs.into_iter().map(|job| {
                                let detail = job.step.clone().or(job.last_error.clone()).unwrap_or_default();
                                let action = match job.state.as_str() {
                                    "failed" | "cancelled" => Some("retry"),
                                    "pending" => Some("cancel"),
                                    _ => None,
                                };
                                view! {
                                    <tr data-testid="job" data-state=job.state.clone()>
                                        <td class=CELL><code class="break-all">{job.key.clone().unwrap_or(job.kind.clone())}</code></td>
                                        <td class=CELL>{job.reason.clone()}</td>
                                        <td class=CELL>{age(now, job.created_at)}</td>
                                        <td class=CELL>{format!("{} of {}", job.attempts, job.max_attempts)}</td>
                                        <td class=CELL><span class="break-words" data-testid="job-detail">{detail}</span></td>
                                        <td class=CELL>{action.map(|action| view! { <JobButton id=job.id.clone() action=action.to_owned() /> })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Retry or Cancel one job: a plain form (it needs no script; the page comes back showing
/// the outcome, or the refusal through [`FormError`]).
#[component]
fn JobButton(id: String, action: String) -> impl IntoView {
    let (url, label, testid) =
        if action == "retry" { (RetryJob::url(), "Retry", "retry") } else { (CancelJob::url(), "Cancel", "cancel") };
    view! {
        <form method="post" action=url>
            <input type="hidden" name="id" value=id />
            <button type="submit" class=BUTTON data-testid=testid>{label}</button>
        </form>
    }
}

#[component]
fn Deliveries(deliveries: Vec<DeliveryView>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    view! {
        <section class="mt-6" aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading" class="text-lg font-semibold">"Webhook deliveries (last 50)"</h2>
            {if deliveries.is_empty() {
                view! { <p class="mt-1 text-sm">"No delivery received yet."</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE data-testid="deliveries">
                        <thead><tr>
                            <th class=HEAD scope="col">"Received"</th>
                            <th class=HEAD scope="col">"Event"</th>
                            <th class=HEAD scope="col">"Outcome"</th>
                        </tr></thead>
                        <tbody>
                            {deliveries.into_iter().map(|d| view! {
                                <tr>
                                    <td class=CELL title=when(&d.received_at)>{age(now, d.received_at)} " ago"</td>
                                    <td class=CELL><code>{d.event.clone()}{d.action.map(|a| format!(".{a}"))}</code></td>
                                    <td class=CELL data-testid="delivery-outcome">{d.outcome.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Scans(mut scans: Vec<LastScanView>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    // The least current first: never scanned, then the oldest scans.
    scans.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then_with(|| a.name.cmp(&b.name)));
    let stale = scans.iter().filter(|s| s.finished_at.is_none_or(|at| now - at > chrono::Duration::days(1))).count();
    view! {
        <section class="mt-6" aria-labelledby="scans-heading">
            <h2 id="scans-heading" class="text-lg font-semibold">"Last scan of each target"</h2>
            <details class="mt-1" open=stale <= 20>
                <summary class="cursor-pointer text-sm">{format!("{} targets, {stale} not scanned in the last day (least current first)", scans.len())}</summary>
            <div class="overflow-x-auto"><table class=TABLE data-testid="last-scans">
                <thead><tr>
                    <th class=HEAD scope="col">"Target"</th>
                    <th class=HEAD scope="col">"Commit / version"</th>
                    <th class=HEAD scope="col">"Age"</th>
                    <th class=HEAD scope="col"><span class="sr-only">"Rescan"</span></th>
                </tr></thead>
                <tbody>
                    {scans.into_iter().map(|scan| view! {
                        <tr>
                            <td class=CELL><a class=LINK href=target_href(&scan.name, scan.kind)>{scan.name.clone()}</a></td>
                            <td class=CELL><code>{scan.revision.as_deref().map(short).unwrap_or_else(|| "—".into())}</code>
                                {scan.status.filter(|s| s != "complete").map(|s| format!(" ({s})"))}</td>
                            <td class=CELL>{scan.finished_at.map(|at| age(now, at)).unwrap_or_else(|| "never".into())}</td>
                            <td class=CELL><RescanButton target_id=scan.target_id /></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
            </details>
        </section>
    }
}

/// Tracking repositories from GitHub: two plain forms.
#[component]
fn Tracking() -> impl IntoView {
    view! {
        <section class="mt-6" aria-labelledby="tracking-heading">
            <h2 id="tracking-heading" class="text-lg font-semibold">"Repositories"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                "Track a GitHub repository: a worker reads its default branch and scans it from GitHub (no checkout); pushes to it then rescan it. Stopping keeps its history."
            </p>
            <div class="mt-2 flex flex-wrap gap-4">
                <form method="post" action=TrackRepository::url() class="flex flex-wrap items-end gap-2">
                    <label class="text-sm">"Repository"
                        <input name="repository" class=INPUT required maxlength="200" placeholder="openedx/edx-ace" data-testid="track-name" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="track">"Track"</button>
                </form>
                <form method="post" action=UntrackRepository::url() class="flex flex-wrap items-end gap-2">
                    <label class="text-sm">"Repository"
                        <input name="repository" class=INPUT required maxlength="200" placeholder="openedx/edx-ace" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="untrack">"Stop tracking"</button>
                </form>
            </div>
        </section>
    }
}

/// "Rescan now": queues the target's rescan ahead of everything else. Also on the target's
/// own page, for maintainers. A plain form: the page comes back with the job queued (or the
/// refusal, through [`FormError`]).
#[component]
pub fn RescanButton(target_id: i64) -> impl IntoView {
    view! {
        <form method="post" action=Rescan::url() class="inline">
            <input type="hidden" name="target_id" value=target_id.to_string() />
            <button type="submit" class=BUTTON data-testid="rescan">"Rescan now"</button>
        </form>
    }
}

#[component]
fn Tokens(tokens: Vec<TokenInfo>) -> impl IntoView {
    view! {
        <section class="mt-6" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading" class="text-lg font-semibold">"API tokens"</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                "CI uploads scans with these (" <code>"POST /api/v1/scans"</code> "), each to the targets it names."
            </p>
            <TokenForm />
            <div class="overflow-x-auto"><table class=TABLE data-testid="tokens">
                <thead><tr>
                    <th class=HEAD scope="col">"Name"</th>
                    <th class=HEAD scope="col">"Prefix"</th>
                    <th class=HEAD scope="col">"Targets"</th>
                    <th class=HEAD scope="col">"Created"</th>
                    <th class=HEAD scope="col">"Last used"</th>
                    <th class=HEAD scope="col"><span class="sr-only">"Revoke"</span></th>
                </tr></thead>
                <tbody>
                    {tokens.into_iter().map(|token| view! {
                        <tr data-testid="token" data-revoked=token.revoked_at.is_some().to_string()>
                            <td class=CELL>{token.name.clone()}</td>
                            <td class=CELL><code>{token.prefix.clone()}</code></td>
                            <td class=CELL>{token.targets.join(", ")}</td>
                            <td class=CELL>{format!("{} by {}", when(&token.created_at), token.created_by)}</td>
                            <td class=CELL>{token.last_used_at.as_ref().map(when).unwrap_or_else(|| "never".into())}</td>
                            <td class=CELL>{match token.revoked_at {
                                Some(at) => view! { <span>"revoked " {when(&at)}</span> }.into_any(),
                                None => view! { <RevokeButton id=token.id /> }.into_any(),
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </section>
    }
}

/// Creating a token shows its secret once, in a field that keeps the focus (the page does
/// not refresh under it) until it is copied.
#[island]
fn TokenForm() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let secret = NodeRef::<leptos::html::Input>::new();
    // Focused, the field holds off the page's live refresh until the secret is copied.
    Effect::new(move |_| {
        if let Some(field) = secret.get() {
            let _ = field.focus();
            field.select();
        }
    });
    view! {
        <ActionForm action=create attr:class="mt-2 flex flex-wrap items-end gap-2" attr:data-testid="token-form">
            <label class="flex flex-col text-sm">"Name"
                <input name="name" class=INPUT required maxlength="100" placeholder="openedx-platform CI" />
            </label>
            <label class="flex flex-col text-sm">"Targets (comma-separated)"
                <input name="targets" class=INPUT required placeholder="openedx/openedx-platform" />
            </label>
            <button type="submit" class=PRIMARY_BUTTON>"Create token"</button>
        </ActionForm>
        {move || create.value().get().map(|result| match result {
            Ok(token) => view! {
                <p class="mt-2 text-sm" role="status">"Token #" {token.id} " — copy it now, it is not shown again: "
                    <input readonly node_ref=secret value=token.secret.clone() class=format!("{INPUT} w-full") size="50" data-testid="token-secret" />
                </p>
            }.into_any(),
            Err(err) => view! { <Alert message=error_text(&err) /> }.into_any(),
        })}
    }
}

/// The campaign's target date: a plain form.
#[component]
fn TargetForm(date: String, label: String) -> impl IntoView {
    view! {
        <form method="post" action=SetTargetDate::url() class="mt-2 flex flex-wrap items-end gap-2" data-testid="target-form">
            <label class="flex flex-col text-sm">"Date"
                <input type="date" name="date" class=INPUT value=date />
            </label>
            <label class="flex flex-col text-sm">"What it is"
                <input name="label" class=INPUT maxlength="200" value=label placeholder="release cut" />
            </label>
            <button type="submit" class=PRIMARY_BUTTON>"Set target"</button>
        </form>
    }
}

/// Revokes a token: a plain form.
#[component]
fn RevokeButton(id: i64) -> impl IntoView {
    view! {
        <form method="post" action=RevokeToken::url()>
            <input type="hidden" name="id" value=id.to_string() />
            <button type="submit" class=BUTTON data-testid="revoke">"Revoke"</button>
        </form>
    }
}

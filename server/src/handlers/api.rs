//! The REST API under `/api/v1`: scan uploads from CI (bearer token), and the maintainers'
//! actions on tokens, links and syncs (session). Every mutation checks who asks first.

use db::models::events::{self, About, Event, TokenCreated, TokenRevoked};
use db::{
    kinds::Item,
    models::links::{self, GitHubSide},
};

use app::state::AppState;
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::{
        guard::{AppError, Maintainer},
        tokens,
    },
    ingest::{sarif, scan::ingest},
    state::ServerState,
};

/// What `POST /api/v1/sync` runs: the same configuration as `unthread sync`.
#[derive(Clone, Debug, Default)]
// ---- tokens -------------------------------------------------------------------------
/// A new token's name and the targets it may upload scans of (`owner/name`, PyPI names).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    name: String,
    targets: Vec<String>,
}

/// A created token: its secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    id: i64,
    /// `unt_…`: send it as `Authorization: Bearer <token>`.
    token: String,
    shown_once: bool,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    security(("session" = [])),
    responses((status = 201, description = "Created; the secret is in the answer, once", body = CreatedToken),
        (status = 400, description = "No name, no target or an unknown target"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn create_token(
    State(state): State<AppState>,
    Maintainer(user): Maintainer,
    Json(new): Json<NewToken>,
) -> Result<Response, AppError> {
    let (id, secret) = tokens::create(&state.pool, &new.name, &new.targets, user.id).await?;
    let event = Event::TokenCreated(TokenCreated { token: id, name: new.name.trim().to_owned(), targets: new.targets });
    events::record(&state.pool, &event, About::by(&user.login)).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id, token: secret, shown_once: true })).into_response())
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("session" = [])),
    responses((status = 200, description = "Every token, revoked ones too (never a secret)", body = [db::views::TokenInfo]),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _maintainer: Maintainer,
) -> Result<Json<Vec<tokens::TokenInfo>>, AppError> {
    Ok(Json(tokens::list(&state.pool).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("session" = [])),
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No live token with that id"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Maintainer(user): Maintainer,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    if !tokens::revoke(&state.pool, id, user.id).await? {
        return Err(AppError::not_found("no live token with that id"));
    }
    events::record(&state.pool, &Event::TokenRevoked(TokenRevoked { token: id }), About::by(&user.login)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- scan uploads -------------------------------------------------------------------

/// The largest SARIF log accepted in one upload.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The target scanned (`owner/name`, or a dependency's PyPI name).
    target: String,
    revision: Option<String>,
    /// Absolute directory the tool scanned, for tools that write absolute `file://` URIs.
    root: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/scans", tag = "scans", params(UploadQuery),
    request_body(content = String, description = "A SARIF 2.1.0 log (unthread-scan, ruff, semgrep, ...)", content_type = "application/sarif+json"),
    security(("token" = [])),
    responses((status = 201, description = "Recorded as a scan of the target", body = db::ingest::IngestSummary),
        (status = 400, description = "Not an importable SARIF log"), (status = 401, description = "No, unknown or revoked token"),
        (status = 403, description = "The token may not upload scans of this target"), (status = 404, description = "No such target"),
        (status = 413, description = "Larger than 64 MiB")))]
pub async fn upload_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| AppError::unauthorized("an API token is required (Authorization: Bearer unt_...)"))?;
    let (token_id, allowed) = tokens::authenticate(&state.pool, secret.trim())
        .await?
        .ok_or_else(|| AppError::unauthorized("unknown or revoked token"))?;
    let target_id = db::models::targets::id_by_name(&state.pool, &query.target)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no target named {}", query.target)))?;
    if !allowed.contains(&target_id) {
        return Err(AppError::forbidden(format!("this token may not upload scans of {}", query.target)));
    }
    // Parsed in full before the database is touched: a bad log changes nothing.
    let mut input = sarif::parse(&body, target_id, query.revision, query.root.as_deref())
        .map_err(|e| AppError::bad_request(format!("the body is not an importable SARIF 2.1.0 log: {e}")))?;
    input.target_id = target_id;
    let summary = ingest(&state.pool, &input).await?;
    tracing::info!(token = token_id, target = %query.target, scan = summary.scan_id, "scan uploaded");
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BaselineQuery {
    /// The target (`owner/name`, or a dependency's PyPI name).
    target: String,
}

#[utoipa::path(get, path = "/api/v1/baseline", tag = "scans", params(BaselineQuery),
    responses((status = 200, description = "A SARIF 2.1.0 log of the target's known findings (every one not fixed, triaged or not), \
        for `unthread-scan --baseline`: CI then fails only on findings Unthread does not know yet", content_type = "application/sarif+json", body = String),
        (status = 404, description = "No such target")))]
pub async fn baseline(State(state): State<AppState>, Query(query): Query<BaselineQuery>) -> Result<Response, AppError> {
    let target_id = db::models::targets::id_by_name(&state.pool, &query.target)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no target named {}", query.target)))?;
    // Written as it is read, a page of findings at a time: a target with 100,000 findings
    // made a 111 MB answer, and eight at once held a gigabyte.
    let (before, after) = scanner::output::sarif::envelope(&baseline_report(Vec::new()));
    let pool = state.pool.clone();
    // (the id to continue after, or none when done; whether a result was written: commas)
    let pages = futures::stream::try_unfold((Some(0_i64), false), move |(next, mut wrote)| {
        let pool = pool.clone();
        async move {
            let Some(after_id) = next else { return Ok::<_, std::io::Error>(None) };
            let page = db::models::findings::known_page(&pool, target_id, after_id, BASELINE_PAGE)
                .await
                .map_err(std::io::Error::other)?;
            let last = page.last().map(|(id, _)| *id);
            let full = page.len() as i64 == BASELINE_PAGE;
            let report = baseline_report(page.into_iter().map(|(_, finding)| finding).collect());
            let mut text = String::new();
            for finding in &report.findings {
                if wrote {
                    text.push(',');
                }
                text.push_str(&scanner::output::sarif::result_text(finding));
                wrote = true;
            }
            Ok(Some((axum::body::Bytes::from(text), (last.filter(|_| full), wrote))))
        }
    });
    use futures::StreamExt;
    let edge =
        |text: String| futures::stream::once(async move { Ok::<_, std::io::Error>(axum::body::Bytes::from(text)) });
    let body = edge(before).chain(pages).chain(edge(after));
    Ok(([(header::CONTENT_TYPE, "application/sarif+json")], axum::body::Body::from_stream(body)).into_response())
}

/// Findings read (and written) at a time for a baseline.
const BASELINE_PAGE: i64 = 2_000;

/// Known findings as a scan report, for the scanner's SARIF writer (findings of other tools'
/// rules are left out: `unthread-scan` could never match them).
fn baseline_report(known: Vec<db::ingest::IncomingFinding>) -> scanner::ScanReport {
    use scanner::{suppression::Suppression, Finding, Position};
    let at = |line: i32, column: i32| Position {
        line: u32::try_from(line).unwrap_or(1),
        column: u32::try_from(column).unwrap_or(1),
    };
    let findings = known
        .into_iter()
        .filter_map(|f| {
            let rule = scanner::rules::by_id(&f.rule)?;
            Some(Finding {
                rule: rule.id.to_owned(),
                severity: rule.severity,
                start: at(f.start_line, f.start_column),
                end: at(f.end_line, f.end_column),
                symbol: f.symbol.unwrap_or_default(),
                message: f.message,
                line_text: f.snippet.unwrap_or_default(),
                context: None,
                content_fingerprint: f.content_fingerprint.unwrap_or_default(),
                conditional: f.conditional,
                suppression: f.suppressed.map(|reason| Suppression {
                    kind: scanner::suppression::SuppressionKind::Ignore,
                    justification: Some(reason),
                    line: u32::try_from(f.start_line).unwrap_or(1),
                }),
                path: f.path,
                fingerprint: f.fingerprint,
                fix: None,
                also_on_lines: Vec::new(),
                runs_at: None,
            })
        })
        .collect();
    scanner::ScanReport {
        scanner_version: scanner::scan::SCANNER_VERSION.to_owned(),
        files: Vec::new(),
        findings,
        api_index: scanner::ApiIndex::new(),
        imports: Default::default(),
        calls_out: None,
        cache_hits: 0,
    }
}

// ---- links --------------------------------------------------------------------------

/// Exactly one of `finding_id` / `target_id`, and one of `issue_id` / `pull_id`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewLink {
    finding_id: Option<i64>,
    target_id: Option<i64>,
    issue_id: Option<i64>,
    pull_id: Option<i64>,
}

/// A link's id.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkCreated {
    id: i64,
}

#[utoipa::path(post, path = "/api/v1/links", tag = "links", request_body = NewLink, security(("session" = [])),
    responses((status = 201, description = "Linked", body = LinkCreated), (status = 400, description = "Not exactly one of each side"),
        (status = 404, description = "No such finding, target, issue or pull request"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn add_link(
    State(state): State<AppState>,
    Maintainer(user): Maintainer,
    Json(new): Json<NewLink>,
) -> Result<Response, AppError> {
    let item = match (new.finding_id, new.target_id) {
        (Some(id), None) => Item::Finding(id),
        (None, Some(id)) => Item::Target(id),
        _ => return Err(AppError::bad_request("give exactly one of finding_id and target_id")),
    };
    let github = match (new.issue_id, new.pull_id) {
        (Some(id), None) => GitHubSide::Issue(id),
        (None, Some(id)) => GitHubSide::Pull(id),
        _ => return Err(AppError::bad_request("give exactly one of issue_id and pull_id")),
    };
    let mut db = state.pool.acquire().await?;
    match links::add_manual(&mut db, item, github, &user.login).await {
        Ok(id) => Ok((StatusCode::CREATED, Json(LinkCreated { id })).into_response()),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Err(AppError::not_found("no such finding, target, issue or pull request"))
        }
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "links", security(("session" = [])),
    params(("id" = i64, Path, description = "The link's id")),
    responses((status = 204, description = "Removed"), (status = 404, description = "No active link with that id"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn remove_link(
    State(state): State<AppState>,
    Maintainer(user): Maintainer,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    let mut db = state.pool.acquire().await?;
    if links::remove(&mut db, id, &user.login).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("no active link with that id"))
    }
}

// ---- sync ---------------------------------------------------------------------------

/// What an accepted request started.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    status: String,
}

#[utoipa::path(post, path = "/api/v1/sync", tag = "github", security(("session" = [])),
    responses((status = 202, description = "A GitHub sync runs in the background", body = Started),
        (status = 503, description = "GitHub is not configured here"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn trigger_sync(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
) -> Result<Response, AppError> {
    let Some(config) = state.github.clone() else {
        return Err(AppError::Unavailable("GitHub is not configured on this server".into()));
    };
    let pool = state.app.pool.clone();
    tracing::info!(by = %user.login, "GitHub sync requested");
    // The sync's own lock keeps one run at a time; answer now, run in the background.
    tokio::spawn(async move {
        match crate::jobs::github_sync::run_once(&pool, &config).await {
            Ok(report) => tracing::info!(run = report.run_id, "requested GitHub sync done"),
            Err(e) => tracing::warn!("requested GitHub sync did not run: {e:#}"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(Started { status: "started".into() })).into_response())
}

// ---- jobs -----------------------------------------------------------------------------

/// A job a request queued, or found already queued for the same work (`folded`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedJob {
    id: String,
    folded: bool,
}

/// The jobs a rescan request queued.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RescanQueued {
    target_id: i64,
    jobs: Vec<QueuedJob>,
}

/// A job and its state after the request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobState {
    id: String,
    state: String,
}

/// `POST /api/v1/targets/{id}/rescan`: queue the target's rescan ahead of everything else.
#[utoipa::path(post, path = "/api/v1/targets/{id}/rescan", tag = "jobs", security(("session" = [])),
    params(("id" = i64, Path, description = "The target's id")),
    responses((status = 202, description = "Queued (a repository at its default branch's head, a dependency at each pinned version)", body = RescanQueued),
        (status = 404, description = "No such target"), (status = 422, description = "A dependency pinned nowhere: no version to scan"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn rescan_target(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    use app::jobs::Rescans;
    let jobs = state.jobs.rescan(id, &user.login).await?;
    let jobs = jobs.into_iter().map(|j| QueuedJob { id: j.id, folded: j.folded }).collect();
    Ok((StatusCode::ACCEPTED, Json(RescanQueued { target_id: id, jobs })).into_response())
}

/// `POST /api/v1/jobs/{id}/retry`: a dead or cancelled job gets one more attempt.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", security(("session" = [])),
    params(("id" = String, Path, description = "The job's id (a UUID)")),
    responses((status = 202, description = "Back on the queue", body = JobState), (status = 404, description = "No such job"),
        (status = 409, description = "Not failed or cancelled, or the same work is already queued"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn retry_job(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, AppError> {
    app::jobs::retry(&state.app.pool, id, &user.login).await?;
    Ok((StatusCode::ACCEPTED, Json(JobState { id: id.to_string(), state: "pending".into() })).into_response())
}

/// `POST /api/v1/jobs/{id}/cancel`: a job that has not started will not run.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", security(("session" = [])),
    params(("id" = String, Path, description = "The job's id (a UUID)")),
    responses((status = 200, description = "Cancelled", body = JobState), (status = 404, description = "No such job"),
        (status = 409, description = "Not waiting: a running job finishes its attempt"),
        (status = 401, description = "Not signed in"), (status = 403, description = "Not a maintainer")))]
pub async fn cancel_job(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, AppError> {
    app::jobs::cancel(&state.app.pool, id, &user.login).await?;
    Ok(Json(JobState { id: id.to_string(), state: "cancelled".into() }).into_response())
}

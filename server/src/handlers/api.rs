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
use serde::Deserialize;

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
#[derive(Deserialize)]
pub struct NewToken {
    name: String,
    targets: Vec<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    Maintainer(user): Maintainer,
    Json(new): Json<NewToken>,
) -> Result<Response, AppError> {
    let (id, secret) = tokens::create(&state.pool, &new.name, &new.targets, user.id).await?;
    let event = Event::TokenCreated(TokenCreated { token: id, name: new.name.trim().to_owned(), targets: new.targets });
    events::record(&state.pool, &event, About::by(&user.login)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id, "token": secret, "shown_once": true })))
        .into_response())
}

pub async fn list_tokens(
    State(state): State<AppState>,
    _maintainer: Maintainer,
) -> Result<Json<Vec<tokens::TokenInfo>>, AppError> {
    Ok(Json(tokens::list(&state.pool).await?))
}

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

#[derive(Deserialize)]
pub struct UploadQuery {
    /// The target scanned (`owner/name`, or a dependency's PyPI name).
    target: String,
    revision: Option<String>,
    /// Absolute directory the tool scanned, for tools that write absolute `file://` URIs.
    root: Option<String>,
}

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

// ---- links --------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct NewLink {
    finding_id: Option<i64>,
    target_id: Option<i64>,
    issue_id: Option<i64>,
    pull_id: Option<i64>,
}

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
        Ok(id) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Err(AppError::not_found("no such finding, target, issue or pull request"))
        }
        Err(e) => Err(e.into()),
    }
}

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
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "status": "started" }))).into_response())
}

// ---- jobs -----------------------------------------------------------------------------

/// `POST /api/v1/targets/{id}/rescan`: queue the target's rescan ahead of everything else.
pub async fn rescan_target(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    use app::jobs::Rescans;
    let jobs = state.jobs.rescan(id, &user.login).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "target_id": id, "jobs": jobs }))).into_response())
}

/// `POST /api/v1/jobs/{id}/retry`: a dead or cancelled job gets one more attempt.
pub async fn retry_job(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, AppError> {
    use db::models::jobs::Change;
    match db::models::jobs::retry(&state.app.pool, id).await? {
        Change::Done => {
            tracing::info!(by = %user.login, job = %id, "job retried");
            Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id, "state": "pending" }))).into_response())
        }
        Change::Missing => Err(AppError::NotFound(format!("no job {id}"))),
        Change::NotApplicable => Err(AppError::Conflict("only a failed or cancelled job can be retried".into())),
        Change::Duplicate => Err(AppError::Conflict("the same work is already queued or running".into())),
    }
}

/// `POST /api/v1/jobs/{id}/cancel`: a job that has not started will not run.
pub async fn cancel_job(
    State(state): State<ServerState>,
    Maintainer(user): Maintainer,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, AppError> {
    use db::models::jobs::Change;
    match db::models::jobs::cancel(&state.app.pool, id).await? {
        Change::Done => {
            tracing::info!(by = %user.login, job = %id, "job cancelled");
            Ok(Json(serde_json::json!({ "id": id, "state": "cancelled" })).into_response())
        }
        Change::Missing => Err(AppError::NotFound(format!("no job {id}"))),
        _ => Err(AppError::Conflict("only a waiting job can be cancelled; a running one finishes its attempt".into())),
    }
}

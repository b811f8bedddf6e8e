//! `/api/v1/changes`: the pull requests Unthread opens (fix and bump changes), asked for and
//! followed over the REST API — the same checks as the pages' buttons
//! ([`crate::jobs::changes::request`]).

use app::jobs::{ChangeRequest, Rescans};
use app::state::AppState;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use db::views::ChangeView;
use serde::{Deserialize, Serialize};

use crate::{
    auth::guard::{AppError, Viewer},
    state::ServerState,
};

/// What to open a pull request for: `{"findings": [ids]}`, `{"target": "owner/name", "rule":
/// "UT001"}` (either with an optional `"unsafe": true`), or `{"bump": "django-crum"}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"target": "openedx/XBlock", "rule": "UT012"}))]
pub struct NewChange {
    /// Fix these findings (of one repository).
    findings: Option<Vec<i64>>,
    /// With `rule`: fix every open finding of the rule with a fix in this repository.
    target: Option<String>,
    rule: Option<String>,
    /// Apply unsafe fixes too (they may change behaviour: the pull request says which).
    #[serde(rename = "unsafe", default)]
    unsafe_fixes: bool,
    /// Move this dependency's pin to the release its upgrade advice names (with `target`:
    /// in that repository's requirements files, when several pin it).
    bump: Option<String>,
}

impl NewChange {
    fn request(self) -> Result<ChangeRequest, AppError> {
        match (self.findings, self.target, self.rule, self.bump) {
            (Some(findings), None, None, None) => {
                Ok(ChangeRequest::Findings { findings, unsafe_fixes: self.unsafe_fixes })
            }
            (None, Some(target), Some(rule), None) => {
                Ok(ChangeRequest::Rule { target, rule, unsafe_fixes: self.unsafe_fixes })
            }
            (None, target, None, Some(bump)) => Ok(ChangeRequest::Bump { bump, target }),
            _ => Err(AppError::bad_request(
                "give {\"findings\": [ids]}, {\"target\": \"owner/name\", \"rule\": \"UT001\"} or {\"bump\": \"name\"}",
            )),
        }
    }
}

/// A change's pull request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PullRequestRef {
    number: i32,
    url: String,
}

/// A change as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Change {
    id: i64,
    /// `queued`, `open`, `merged`, `closed`, `failed` or `cancelled`.
    state: String,
    /// `fix` or `bump`.
    kind: String,
    /// The repository the pull request is (to be) opened in.
    target: String,
    rule: Option<String>,
    /// What it does: "Fix all UT012", "Bump django-crum 0.7.9 → 0.8.0".
    subject: String,
    pull_request: Option<PullRequestRef>,
    findings: Vec<i64>,
    /// How many of its findings a scan has seen fixed since.
    findings_fixed: i64,
    requested_by: String,
    requested_at: chrono::DateTime<chrono::Utc>,
    /// Why it failed or was cancelled.
    error: Option<String>,
}

impl From<ChangeView> for Change {
    fn from(view: ChangeView) -> Self {
        let subject = view.subject();
        Change {
            id: view.id,
            state: view.state.as_str().to_owned(),
            kind: view.kind.as_str().to_owned(),
            target: view.target,
            rule: view.rule,
            subject,
            pull_request: view.pull_number.zip(view.pull_url).map(|(number, url)| PullRequestRef { number, url }),
            findings: view.findings,
            findings_fixed: view.findings_fixed,
            requested_by: view.requested_by,
            requested_at: view.requested_at,
            error: view.reason,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/changes", tag = "changes", request_body = NewChange, security(("session" = [])),
    responses((status = 202, description = "Queued (or the same request's change, already queued or open)", body = Change),
        (status = 400, description = "Not one of the three shapes"),
        (status = 404, description = "No such finding"),
        (status = 422, description = "Nothing fixable selected (the reason says why)"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "A contributor asking for findings they do not own, or for a bump")))]
pub async fn create(
    State(state): State<ServerState>,
    viewer: Viewer,
    Json(new): Json<NewChange>,
) -> Result<Response, AppError> {
    let user = viewer.user()?;
    let request = new.request()?;
    if let Some(why) = &state.app.pull_requests_unavailable {
        return Err(AppError::unprocessable(why.clone()));
    }
    // The change's event (`change.queued`) tells every process's caches and live pages.
    let requested = state.jobs.request_change(&request, user).await?;
    Ok((StatusCode::ACCEPTED, Json(Change::from(requested.change))).into_response())
}

#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes",
    params(("id" = i64, Path, description = "The change's id")),
    responses((status = 200, description = "The change", body = Change), (status = 404, description = "No such change")))]
pub async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Change>, AppError> {
    let change =
        db::models::changes::get(&state.pool, id).await?.ok_or_else(|| AppError::not_found("no such change"))?;
    Ok(Json(change.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only the changes of this repository (`owner/name`).
    target: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ListQuery),
    responses((status = 200, description = "The newest 500 changes, newest first", body = [Change])))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Change>>, AppError> {
    let changes = db::models::changes::list(&state.pool, query.target.as_deref(), 500).await?;
    Ok(Json(changes.into_iter().map(Change::from).collect()))
}

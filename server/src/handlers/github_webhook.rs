//! `POST /webhooks/github`: GitHub's deliveries, verified (`X-Hub-Signature-256`) before
//! anything is read or written, applied once per `X-GitHub-Delivery`.

use axum::{
    body::Bytes,
    extract::Request,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use app::error::AppError;

use crate::{
    github::webhook::{self, Applied, DeliveryError},
    state::ServerState,
};

fn reply(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "status": message }))).into_response()
}

/// GitHub caps a webhook payload at 25 MB.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

pub async fn receive(State(state): State<ServerState>, request: Request) -> Response {
    // Everything that can be refused without the body is, before a byte of it is read: an
    // anonymous sender cannot make the server buffer megabytes for nothing.
    let Some(secret) = state.webhook_secret else {
        return AppError::Unavailable("no webhook secret is configured (GITHUB_WEBHOOK_SECRET)".into()).into_response();
    };
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let Some(signature) = header("x-hub-signature-256") else {
        return AppError::unauthorized("missing X-Hub-Signature-256").into_response();
    };
    if !webhook::signature_is_well_formed(signature) {
        return AppError::unauthorized("bad signature").into_response();
    }
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => return AppError::TooLarge(format!("a delivery is at most {MAX_BODY_BYTES} bytes")).into_response(),
    };
    if !webhook::signature_is_valid(&secret, &body, signature) {
        return AppError::unauthorized("bad signature").into_response();
    }
    let (Some(event), Some(delivery)) = (header("x-github-event"), header("x-github-delivery")) else {
        return AppError::bad_request("missing X-GitHub-Event or X-GitHub-Delivery").into_response();
    };
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => return AppError::bad_request(format!("the body is not JSON: {e}")).into_response(),
    };
    match webhook::apply(&state.app.pool, &state.jobs, delivery, event, &payload).await {
        Ok(Applied::Processed) => reply(StatusCode::OK, "processed"),
        Ok(Applied::Replayed) => reply(StatusCode::OK, "already processed"),
        Ok(Applied::Ignored) => reply(StatusCode::ACCEPTED, "ignored"),
        Err(e @ DeliveryError::BadPayload { .. }) => AppError::unprocessable(e).into_response(),
        // Nothing was recorded: GitHub may redeliver it.
        Err(DeliveryError::Database(e)) => AppError::from(e).into_response(),
        Err(DeliveryError::Queue(e)) => {
            tracing::error!("webhook delivery not applied: the job queue: {e}");
            AppError::Unavailable("the job queue is unavailable; GitHub may redeliver".into()).into_response()
        }
    }
}

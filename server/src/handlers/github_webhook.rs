//! `POST /webhooks/github`: GitHub's deliveries, verified (`X-Hub-Signature-256`) before
//! anything is read or written, applied once per `X-GitHub-Delivery`.

use std::sync::Arc;

use app::state::AppState;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};

use crate::github::webhook::{self, Applied, DeliveryError};

/// The webhook's shared secret; without one, deliveries are refused.
#[derive(Clone, Default)]
pub struct WebhookSecret(pub Option<Arc<[u8]>>);

fn reply(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "status": message }))).into_response()
}

pub async fn receive(
    State(state): State<AppState>,
    Extension(secret): Extension<WebhookSecret>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = secret.0 else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "no webhook secret is configured (GITHUB_WEBHOOK_SECRET)");
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let Some(signature) = header("x-hub-signature-256") else {
        return reply(StatusCode::UNAUTHORIZED, "missing X-Hub-Signature-256");
    };
    if !webhook::signature_is_valid(&secret, &body, signature) {
        return reply(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let (Some(event), Some(delivery)) = (header("x-github-event"), header("x-github-delivery")) else {
        return reply(StatusCode::BAD_REQUEST, "missing X-GitHub-Event or X-GitHub-Delivery");
    };
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => return reply(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}")),
    };
    match webhook::apply(&state.pool, delivery, event, &payload).await {
        Ok(Applied::Processed) => reply(StatusCode::OK, "processed"),
        Ok(Applied::Replayed) => reply(StatusCode::OK, "already processed"),
        Ok(Applied::Ignored) => reply(StatusCode::ACCEPTED, "ignored"),
        Err(e @ DeliveryError::BadPayload { .. }) => reply(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        Err(DeliveryError::Database(e)) => {
            tracing::error!("webhook delivery {delivery}: {e}");
            reply(StatusCode::INTERNAL_SERVER_ERROR, "could not record the delivery; GitHub may redeliver it")
        }
    }
}

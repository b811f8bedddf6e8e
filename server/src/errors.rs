//! The error layer: every failed answer made from an [`AppError`](app::error::AppError) gets
//! its body here, where the request is known — JSON (`{"error": ..., "request_id": ...}`) for
//! API clients, plain text for browsers — and, when the failure is ours (5xx), the request
//! id users can quote when they report it.

use app::error::ErrorMessage;
use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let wants_json = wants_json(&request);
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<ErrorMessage>().cloned() else { return response };
    let (mut parts, _) = response.into_parts();
    let request_id = request_id.filter(|_| error.with_request_id);
    let mut rendered = if wants_json {
        Json(serde_json::json!({ "error": error.message, "request_id": request_id })).into_response()
    } else {
        let text = match &request_id {
            Some(id) => format!("{} (request id {id})\n", error.message),
            None => format!("{}\n", error.message),
        };
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], text).into_response()
    };
    // Keep the status and whatever else the handler set (Retry-After, cookies), with the new
    // body's type and length.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.extend(rendered.headers_mut().drain().filter_map(|(name, value)| Some((name?, value))));
    Response::from_parts(parts, rendered.into_body())
}

/// API routes, webhooks and clients that ask for JSON get JSON; browsers get text.
fn wants_json(request: &Request) -> bool {
    let path = request.uri().path();
    let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    path.starts_with("/api/") || path.starts_with("/webhooks/") || accept.contains("application/json")
}

/// Server functions answer a request whose arguments do not parse (a missing or mistyped
/// field, a body of the wrong kind, one over the size limit) with their own 500 and the
/// parser's words; those are the client's mistakes: 400, or 413 when too large.
pub async fn client_errors_of_server_functions(request: Request, next: Next) -> Response {
    // Server functions live under /api/ (the REST API under /api/v1/ answers for itself).
    let path = request.uri().path();
    let server_function = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    let response = next.run(request).await;
    if !server_function
        || response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR
        || response.extensions().get::<ErrorMessage>().is_some()
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Server functions' errors are short texts, `Variant|message`.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return app::error::AppError::internal("an error body could not be read").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let client_error = match text.split_once('|') {
        Some(("Args", reason)) => Some(app::error::AppError::bad_request(format!("bad arguments: {reason}"))),
        Some(("Deserialization", reason)) if reason.contains("length limit") => {
            Some(app::error::AppError::TooLarge("the request body is too large".into()))
        }
        Some(("Deserialization", reason)) => {
            Some(app::error::AppError::bad_request(format!("the body does not parse: {reason}")))
        }
        _ => None,
    };
    match client_error {
        Some(error) => error.into_response(),
        None => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

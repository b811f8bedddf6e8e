//! One error type for every failed HTTP answer, from server functions and from the server's
//! own handlers (API, sign-in, report downloads, webhooks) alike: the same failure gets the
//! same status and the same words everywhere.
//!
//! - the database cannot be reached → 503, "try again shortly", with the request id;
//! - a bad request → 400 (422 for a well-formed body that makes no sense), with the reason;
//! - not signed in → 401, not allowed → 403, missing → 404, in the way of another change → 409,
//!   too large → 413;
//! - anything else → 500 with the request id and nothing internal (the cause goes to the log).
//!
//! Handlers return it as a response ([`IntoResponse`]): the status and a marker carrying the
//! message, which the server's error layer turns into the body — JSON for API clients, text
//! for browsers — with this request's id. Server functions convert it into their
//! `ServerFnError` ([`AppError::into_server_fn_error`]), which says the same.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use leptos::prelude::{use_context, ServerFnError};
use leptos_axum::ResponseOptions;

// Not a `std::error::Error` on purpose: server functions' error type converts every such
// error into a bare message, which would lose the status; `From<AppError>` below keeps it.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request is malformed or a value is wrong; says which and why.
    BadRequest(String),
    /// 422: well-formed, but not something that can be done.
    Unprocessable(String),
    /// 401
    Unauthorized(String),
    /// 403
    Forbidden(String),
    /// 404
    NotFound(String),
    /// 409: conflicts with the current state (someone else's claim, a report already posted).
    Conflict(String),
    /// 413
    TooLarge(String),
    /// 502: a service this server relies on (GitHub) refused or failed.
    Upstream(String),
    /// 503: something this server needs is not configured or not reachable (not the database).
    Unavailable(String),
    /// 503: PostgreSQL failed; users are told to retry, operators read the cause in the log.
    /// The cause, for the log.
    Database(String),
    /// 500: a bug or an unexpected failure; only the log says what.
    Internal(String),
}

/// The message of a failed answer, left on the response for the server's error layer, which
/// writes the body with the request id.
#[derive(Clone, Debug)]
pub struct ErrorMessage {
    pub message: String,
    /// Worth quoting in a report: the failure is ours (5xx).
    pub with_request_id: bool,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::BadRequest(message)
            | AppError::Unprocessable(message)
            | AppError::Unauthorized(message)
            | AppError::Forbidden(message)
            | AppError::NotFound(message)
            | AppError::Conflict(message)
            | AppError::TooLarge(message)
            | AppError::Upstream(message)
            | AppError::Unavailable(message) => f.write_str(message),
            AppError::Database(_) => f.write_str("the database is unavailable, try again shortly"),
            AppError::Internal(_) => f.write_str("something went wrong on our side"),
        }
    }
}

impl AppError {
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        Self::BadRequest(message.to_string())
    }

    pub fn unprocessable(message: impl std::fmt::Display) -> Self {
        Self::Unprocessable(message.to_string())
    }

    pub fn unauthorized(message: impl std::fmt::Display) -> Self {
        Self::Unauthorized(message.to_string())
    }

    pub fn forbidden(message: impl std::fmt::Display) -> Self {
        Self::Forbidden(message.to_string())
    }

    pub fn not_found(message: impl std::fmt::Display) -> Self {
        Self::NotFound(message.to_string())
    }

    pub fn conflict(message: impl std::fmt::Display) -> Self {
        Self::Conflict(message.to_string())
    }

    /// An unexpected failure: `error` is logged, the user sees a generic message.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::Unavailable(_) | AppError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs what operators need (the cause of a failure on our side) and returns what the
    /// user may read.
    fn report(&self) -> ErrorMessage {
        match self {
            AppError::Database(cause) => tracing::error!(error = %cause, "database query failed"),
            AppError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            _ => {}
        }
        ErrorMessage { message: self.to_string(), with_request_id: self.status().is_server_error() }
    }

    /// The same failure as a server function's error, with the same status (set on the
    /// response unless the browser posted a plain form, which is redirected back instead).
    pub fn into_server_fn_error(self) -> ServerFnError {
        let reported = self.report();
        let message = match request_id().filter(|_| reported.with_request_id) {
            Some(id) => format!("{} (request id {id})", reported.message),
            None => reported.message,
        };
        fail(self.status(), message)
    }
}

impl From<sqlx::Error> for AppError {
    /// The database unreachable or failing is a 503; a statement it refused for the data
    /// (a unique, foreign-key or check constraint) is no outage, and retrying will not help:
    /// a 409 (the cause, with the constraint, goes to the log only).
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(e) = &error {
            if matches!(
                e.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::CheckViolation
                    | ErrorKind::NotNullViolation
            ) {
                tracing::warn!(constraint = e.constraint().unwrap_or(""), "refused by the database: {e}");
                return AppError::conflict("the request conflicts with what is stored (nothing was changed)");
            }
        }
        AppError::Database(error.to_string())
    }
}

impl From<db::models::claims::ClaimError> for AppError {
    fn from(error: db::models::claims::ClaimError) -> Self {
        use db::models::claims::ClaimError;
        match error {
            ClaimError::Database(e) => e.into(),
            ClaimError::NotFound(_) => AppError::not_found(error),
            ClaimError::NotYours => AppError::forbidden(error),
            ClaimError::UnknownUser(_) => AppError::unprocessable(error),
            ClaimError::Taken { .. }
            | ClaimError::CoveredByTarget { .. }
            | ClaimError::NotOpen
            | ClaimError::NotClaimed => AppError::conflict(error),
        }
    }
}

impl From<db::models::triage::TriageError> for AppError {
    fn from(error: db::models::triage::TriageError) -> Self {
        use db::models::triage::TriageError;
        match error {
            TriageError::Database(e) => e.into(),
            TriageError::NotFound => AppError::not_found(error),
            other => AppError::unprocessable(other),
        }
    }
}

impl From<db::models::tokens::TokenError> for AppError {
    fn from(error: db::models::tokens::TokenError) -> Self {
        use db::models::tokens::TokenError;
        match error {
            TokenError::Database(e) => e.into(),
            TokenError::Randomness(e) => AppError::internal(e),
            invalid => AppError::bad_request(invalid),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let reported = self.report();
        // A plain body for a client that bypasses the error layer (tests of single
        // handlers); the layer replaces it.
        let mut response = (status, reported.message.clone()).into_response();
        response.extensions_mut().insert(reported);
        response
    }
}

impl From<AppError> for ServerFnError {
    fn from(error: AppError) -> Self {
        error.into_server_fn_error()
    }
}

/// A failure the user should read, answered with `status`: how [`AppError`]
/// reaches server functions. A plain form submission (no JavaScript) keeps its redirect back
/// to the page instead, which then shows the message.
fn fail(status: StatusCode, message: impl std::fmt::Display) -> ServerFnError {
    if !is_plain_form_post() {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(status);
        }
    }
    ServerFnError::new(message.to_string())
}

/// A browser posting a form without JavaScript asks for HTML; server function calls from
/// the hydrated page and API clients do not.
fn is_plain_form_post() -> bool {
    use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts.method == axum::http::Method::POST
            && parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
    })
}

/// This request's `x-request-id` (set by the router for every request).
pub fn request_id() -> Option<String> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned))
}

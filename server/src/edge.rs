//! Input refused at the edge, before any handler or query sees it: text PostgreSQL cannot
//! store (a NUL byte) or that is not text at all (invalid UTF-8), in the path, the query or a
//! form or JSON body. Such input is the client's mistake (400), never the database's (503).

use app::error::AppError;
use axum::{
    body::Body,
    extract::Request,
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Form and JSON bodies are read whole to be checked; none of the routes they go to takes
/// more (scan uploads and webhooks have their own limits and are not read here).
pub const MAX_CHECKED_BODY: usize = 1024 * 1024;

pub async fn refuse_invalid_text(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if !is_clean(uri.path().as_bytes(), true) || uri.query().is_some_and(|query| !is_clean(query.as_bytes(), true)) {
        return AppError::bad_request("the address holds a NUL byte or invalid UTF-8").into_response();
    }
    let path = uri.path();
    if path.starts_with("/api/v1/scans") || path.starts_with("/webhooks/") {
        return next.run(request).await;
    }
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let json = content_type.starts_with("application/json");
    if !form && !json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CHECKED_BODY).await else {
        return AppError::TooLarge(format!("a request body is at most {MAX_CHECKED_BODY} bytes")).into_response();
    };
    let clean = if form {
        is_clean(&bytes, true)
    } else {
        std::str::from_utf8(&bytes).is_ok_and(|text| !text.contains("\\u0000"))
    };
    if !clean || bytes.contains(&0) {
        return AppError::bad_request("the body holds a NUL byte or invalid UTF-8").into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Whether `raw`, percent-decoded when `encoded` (`+` stays as it is: a space either way),
/// is UTF-8 text without NUL.
fn is_clean(raw: &[u8], encoded: bool) -> bool {
    let decoded: std::borrow::Cow<[u8]> = if encoded { percent_decode(raw).into() } else { raw.into() };
    !decoded.contains(&0) && std::str::from_utf8(&decoded).is_ok()
}

fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::is_clean;

    #[test]
    fn nul_and_invalid_utf8_are_unclean_in_any_spelling() {
        for clean in ["/findings", "q=threading.local&owner=ana", "q=%C3%A9t%C3%A9", "q=a+b", "q=100%"] {
            assert!(is_clean(clean.as_bytes(), true), "{clean}");
        }
        for unclean in ["q=%00", "/people/a%00b", "q=%FF", "q=%C3", "q=%e2%82"] {
            assert!(!is_clean(unclean.as_bytes(), true), "{unclean}");
        }
        assert!(!is_clean(b"a\0b", false));
    }
}

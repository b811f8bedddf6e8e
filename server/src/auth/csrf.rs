//! Cross-site request refusal for everything that changes state. A browser sends
//! `Sec-Fetch-Site` and `Origin` with every POST; a write that another site triggers is
//! refused before it reaches a handler (the `SameSite=Lax` session cookie is the second
//! line). Webhooks (signed) and bearer-token API calls (no ambient credentials) are exempt.

use axum::{
    body::Body,
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn refuse_cross_site_writes(request: Request<Body>, next: Next) -> Response {
    if is_cross_site_write(&request) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(request).await
}

fn is_cross_site_write(request: &Request<Body>) -> bool {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if request.uri().path().starts_with("/webhooks/") {
        return false;
    }
    let headers = request.headers();
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Bearer "));
    if bearer && headers.get(header::COOKIE).is_none() {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Not a browser (curl, scripts): no ambient cookies were sent on anyone's behalf.
        None => false,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            origin == "null" || host.is_empty() || !authority.eq_ignore_ascii_case(host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::post(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn cross_site_writes() {
        let host = ("host", "unthread.example.org");
        assert!(!is_cross_site_write(&post(
            "/api/x",
            &[host, ("origin", "https://unthread.example.org"), ("sec-fetch-site", "same-origin")]
        )));
        assert!(is_cross_site_write(&post(
            "/api/x",
            &[host, ("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")]
        )));
        assert!(is_cross_site_write(&post("/api/x", &[host, ("origin", "https://evil.example")])));
        assert!(is_cross_site_write(&post("/api/x", &[host, ("sec-fetch-site", "same-site")])));
        assert!(is_cross_site_write(&post("/api/x", &[host, ("origin", "null")])));
        assert!(!is_cross_site_write(&post("/api/x", &[host])), "no browser headers: not a browser");
        assert!(!is_cross_site_write(&post("/webhooks/github", &[host, ("origin", "https://evil.example")])));
        assert!(!is_cross_site_write(&post(
            "/api/v1/scans",
            &[host, ("authorization", "Bearer x"), ("origin", "https://evil.example")]
        )));
        assert!(!is_cross_site_write(
            &Request::get("/").header("origin", "https://evil.example").body(Body::empty()).unwrap()
        ));
    }
}

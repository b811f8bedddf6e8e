//! Cross-site request refusal for everything that changes state. A browser sends
//! `Sec-Fetch-Site` and `Origin` with every POST; a write that another site triggers is
//! refused before it reaches a handler (the `SameSite=Lax` session cookie is the second
//! line). Webhooks (signed) and bearer-token API calls (no ambient credentials) are exempt.

use std::sync::Arc;

use app::error::AppError;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::AuthConfig;

pub async fn refuse_cross_site_writes(
    State(config): State<Arc<AuthConfig>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    // Served directly (no public URL configured) the scheme is http: axum does not do TLS.
    let own_origin = if config.public_url_configured {
        origin_of(&config.public_url)
    } else {
        request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|host| origin_of(&format!("http://{host}")))
    };
    if is_cross_site_write(&request, own_origin.as_deref()) {
        return AppError::forbidden("cross-site request refused").into_response();
    }
    next.run(request).await
}

/// `scheme://host[:port]` of a URL, lowercased, without a default port or a path: what a
/// browser sends as `Origin` for pages of that URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// Whether a write comes from another site. `own_origin` is this server's origin (scheme,
/// host and port); without one, the request's `Host` is compared with the origin's.
fn is_cross_site_write(request: &Request<Body>, own_origin: Option<&str>) -> bool {
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
        Some("null") => true,
        Some(origin) => match own_origin {
            Some(own) => origin_of(origin).as_deref() != Some(own),
            None => {
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
                let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
                host.is_empty() || !authority.eq_ignore_ascii_case(host)
            }
        },
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

    fn is_cross_site_write(request: &Request<Body>) -> bool {
        super::is_cross_site_write(request, None)
    }

    #[test]
    fn origins_must_match_scheme_host_and_port() {
        let own = origin_of("https://Unthread.example.org:443/some/path").unwrap();
        assert_eq!(own, "https://unthread.example.org");
        let write = |origin: &str| post("/api/x", &[("host", "unthread.example.org"), ("origin", origin)]);
        assert!(!super::is_cross_site_write(&write("https://unthread.example.org"), Some(&own)));
        assert!(super::is_cross_site_write(&write("http://unthread.example.org"), Some(&own)), "another scheme");
        assert!(super::is_cross_site_write(&write("https://unthread.example.org:8443"), Some(&own)), "another port");
        assert!(super::is_cross_site_write(&write("https://unthread.example.org.evil"), Some(&own)));
        assert!(super::is_cross_site_write(&write("garbage"), Some(&own)));
        assert_eq!(origin_of("http://127.0.0.1:3000").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("not a url"), None);
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

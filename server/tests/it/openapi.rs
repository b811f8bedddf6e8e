//! `GET /api/v1/openapi.json`: an OpenAPI 3 document of the REST API, generated from the
//! handlers, that names every `/api/v1` route the router serves, with its methods.

use std::collections::BTreeSet;

use crate::support::{fresh_database, http::get, send, TestApp};

/// `(path, method)` of every `/api/v1` route in the router's source: the routes as written,
/// so a route added without its documentation fails here.
fn routes_in_router() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/router.rs")).unwrap();
    let path = regex::Regex::new(r#"\.route\(\s*"(/api/v1/[^"]+)""#).unwrap();
    let method = regex::Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap();
    let mut routes = BTreeSet::new();
    let found: Vec<_> = path.captures_iter(&source).collect();
    for capture in &found {
        let whole = capture.get(0).unwrap();
        // The route's handlers: up to the next `.route(` (or the end).
        let rest = &source[whole.end()..];
        let end = rest.find(".route(").unwrap_or(rest.len());
        for m in method.captures_iter(&rest[..end]) {
            routes.insert((capture[1].to_owned(), m[1].to_owned()));
        }
    }
    routes
}

#[tokio::test]
async fn every_rest_route_is_in_the_openapi_document() {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).build();
    let reply = send(&app, get("/api/v1/openapi.json", None)).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let routes = routes_in_router();
    assert!(routes.len() >= 11, "the router's REST routes were found: {routes:?}");
    for (path, method) in &routes {
        // The router writes `{id}`, as OpenAPI does.
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(operation["responses"].is_object(), "{method} {path} has no responses");
    }
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|ops| ops.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len(), "nothing documented that the router does not serve");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
}

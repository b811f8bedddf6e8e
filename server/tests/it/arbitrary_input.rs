//! Arbitrary input in every field of every server function and every page's path and query:
//! whatever the bytes, the answer is 2xx, 3xx or 4xx — never a server error — and nothing in
//! the database changes. Anonymous, then as a maintainer (who may call everything).

use axum::{
    body::Body,
    http::{header, Request},
    Router,
};
use proptest::{prelude::*, test_runner::TestRunner};
use sqlx::PgPool;

use crate::support::{fresh_database, seed_finding, send, sign_in, TestApp};

/// Server functions (`/api/<endpoint>`) and the form fields they read.
const SERVER_FUNCTIONS: &[(&str, &[&str])] = &[
    ("claim", &["kind", "id"]),
    ("unclaim", &["kind", "id"]),
    ("assign", &["kind", "id", "login"]),
    ("users", &["prefix"]),
    ("account", &[]),
    ("triage", &["id", "state", "reason"]),
    (
        "findings",
        &[
            "filter[target]",
            "filter[kind]",
            "filter[rule]",
            "filter[triage]",
            "filter[owner]",
            "filter[unowned]",
            "filter[state]",
            "filter[text]",
            "after",
        ],
    ),
    ("weekly_report", &["week", "tz"]),
    ("post_weekly_report", &["week", "tz", "mode"]),
    ("target", &["name"]),
    ("overview", &[]),
    ("rules", &[]),
    ("rule", &["id"]),
    ("targets", &["dependencies", "filter", "sort", "descending", "page"]),
    ("person", &["login"]),
    ("contribute", &["rule", "target"]),
    ("finding", &["id"]),
    ("admin", &[]),
    ("retry_job", &["id"]),
    ("cancel_job", &["id"]),
    ("rescan", &["target_id"]),
    ("create_token", &["name", "targets"]),
    ("revoke_token", &["id"]),
    ("attach_link", &["kind", "id", "reference"]),
    ("detach_link", &["link"]),
    ("track_repository", &["repository"]),
    ("untrack_repository", &["repository"]),
    ("open_change", &["finding", "target", "rule", "unsafe_fixes", "bump"]),
    ("changes", &[]),
];

/// Pages: a path prefix followed by an arbitrary segment, or a fixed path with arbitrary
/// values for the query parameters it reads.
const PATH_PAGES: &[&str] =
    &["/people/", "/repos/openedx/", "/deps/", "/findings/", "/rules/", "/reports/weekly/", "/api/v1/changes/"];
const QUERY_PAGES: &[(&str, &[&str])] = &[
    ("/findings", &["target", "kind", "rule", "state", "triage", "owner", "unowned", "q", "after", "tests", "filed"]),
    ("/repos", &["q", "sort", "desc", "page"]),
    ("/deps", &["q", "sort", "desc", "page"]),
    ("/contribute", &["rule", "target"]),
    ("/reports/weekly", &["week", "tz"]),
    ("/admin", &["q"]),
];

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Rows of every table input could touch.
async fn counts(pool: &PgPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in
        ["targets", "findings", "claims", "events", "users", "links", "api_tokens", "report_posts", "scans", "changes"]
    {
        counts.push(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap());
    }
    counts
}

/// One request built from arbitrary bytes.
#[derive(Clone, Debug)]
enum Input {
    ServerFunction { endpoint: usize, fields: Vec<(usize, Vec<u8>)> },
    PathPage { page: usize, segment: Vec<u8> },
    QueryPage { page: usize, params: Vec<(usize, Vec<u8>)> },
}

fn input() -> impl Strategy<Value = Input> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..24);
    prop_oneof![
        (0..SERVER_FUNCTIONS.len(), prop::collection::vec((0..9usize, bytes()), 0..6))
            .prop_map(|(endpoint, fields)| Input::ServerFunction { endpoint, fields }),
        (0..PATH_PAGES.len(), bytes()).prop_map(|(page, segment)| Input::PathPage { page, segment }),
        (0..QUERY_PAGES.len(), prop::collection::vec((0..9usize, bytes()), 0..5))
            .prop_map(|(page, params)| Input::QueryPage { page, params }),
    ]
}

fn build(input: &Input, cookie: Option<&str>) -> Request<Body> {
    let pairs = |names: &[&str], values: &[(usize, Vec<u8>)]| {
        values
            .iter()
            .filter(|_| !names.is_empty())
            .map(|(name, value)| format!("{}={}", encode(names[name % names.len()].as_bytes()), encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let mut request = match input {
        Input::ServerFunction { endpoint, fields } => {
            let (name, names) = SERVER_FUNCTIONS[*endpoint];
            Request::post(format!("/api/{name}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(pairs(names, fields)))
                .unwrap()
        }
        Input::PathPage { page, segment } => {
            Request::get(format!("{}{}", PATH_PAGES[*page], encode(segment))).body(Body::empty()).unwrap()
        }
        Input::QueryPage { page, params } => {
            let (path, names) = QUERY_PAGES[*page];
            Request::get(format!("{path}?{}", pairs(names, params))).body(Body::empty()).unwrap()
        }
    };
    if let Some(cookie) = cookie {
        request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    }
    request
}

async fn never_a_server_error(app: &Router, pool: &PgPool, cookie: Option<&str>) {
    let before = counts(pool).await;
    let mut runner = TestRunner::new(proptest::test_runner::Config { cases: 300, ..Default::default() });
    // proptest drives synchronously (and shrinks a failing input); each case runs the request
    // on this test's runtime.
    let runtime = tokio::runtime::Handle::current();
    let probed = std::sync::atomic::AtomicBool::new(false);
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&input(), |input| {
            let reply = runtime.block_on(send(app, build(&input, cookie)));
            if reply.status.as_u16() >= 500 && !probed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                // What is stuck: this request again, another page, the same on a new router.
                let report = runtime.block_on(probe(app, pool, &input, cookie));
                eprintln!("5xx probe for {input:?}: {report}");
            }
            prop_assert!(reply.status.as_u16() < 500, "{:?}: {} {}", cookie, reply.status, reply.body);
            Ok(())
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    assert_eq!(counts(pool).await, before, "arbitrary input changed nothing");
}

/// After a server error: the same request again, another page, and the same request on a new
/// router over the same database, each with how long it took — to tell a wedged router (a
/// stuck shared load) from a slow database.
async fn probe(app: &Router, pool: &PgPool, input: &Input, cookie: Option<&str>) -> String {
    let mut out = Vec::new();
    let fresh = TestApp::new(pool).dev_login().build();
    for (what, router, request) in [
        ("again", app, build(input, cookie)),
        ("/rules", app, Request::get("/rules").body(Body::empty()).unwrap()),
        ("new router", &fresh, build(input, cookie)),
    ] {
        let start = std::time::Instant::now();
        let status = send(router, request).await.status;
        out.push(format!("{what}: {status} in {:?}", start.elapsed()));
    }
    let idle = pool.num_idle();
    out.push(format!("pool {idle} idle of {}", pool.size()));
    out.join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_input_never_gets_a_server_error_or_changes_anything() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    seed_finding(&pool, target, "edx_ace/channel.py", Some("ChannelMap")).await;
    let app = TestApp::new(&pool).dev_login().build();
    let maintainer = sign_in(&app, "ana", "maintainer").await;
    never_a_server_error(&app, &pool, None).await;
    never_a_server_error(&app, &pool, Some(&maintainer)).await;
}

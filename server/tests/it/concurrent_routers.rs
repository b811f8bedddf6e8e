//! Pages keep answering while other routers are being built in the same process. Building a
//! router generates the pages' route list, which runs the app with resource loading
//! suppressed process-wide (leptos#4773): before the route list was generated once per
//! process, a page whose resource first polled in that window never answered — the suite's
//! "30 s stall" (a 503 from the request timeout), about one parallel run in three.

use std::time::Duration;

use crate::support::{fresh_database, http::get, send, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_while_other_routers_are_built() {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).build();
    let builder_pool = pool.clone();
    let building = tokio::spawn(async move {
        for _ in 0..150 {
            drop(TestApp::new(&builder_pool).build());
            tokio::task::yield_now().await;
        }
    });
    for path in ["/rules", "/findings", "/repos", "/deps", "/changes"].iter().cycle().take(150) {
        let reply = tokio::time::timeout(Duration::from_secs(10), send(&app, get(path, None)))
            .await
            .unwrap_or_else(|_| panic!("{path} did not answer within 10 s while routers were built"));
        assert_eq!(reply.status, 200, "{path}");
    }
    building.await.unwrap();
}

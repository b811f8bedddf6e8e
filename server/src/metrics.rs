//! Operational metrics in Prometheus' text format at `GET /metrics`: request latency per
//! route, GitHub sync and scan ingestion durations, and the background work in progress.
//!
//! Instruments are recorded with the `metrics` facade wherever the work happens; the
//! Prometheus recorder is installed once per process (several routers in one test process
//! share it).

use std::{sync::OnceLock, time::Instant};

use app::state::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUEST_DURATION: &str = "unthread_http_request_duration_seconds";
pub const SYNC_DURATION: &str = "unthread_github_sync_duration_seconds";
pub const INGEST_DURATION: &str = "unthread_scan_ingest_duration_seconds";
pub const JOBS_RUNNING: &str = "unthread_jobs_running";
pub const QUEUE_DEPTH: &str = "unthread_queue_jobs";
pub const JOB_DURATION: &str = "unthread_job_duration_seconds";
pub const JOB_LATENCY: &str = "unthread_job_request_to_done_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let seconds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder was installed first (not done anywhere else).
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed: /metrics shows only what it records");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency, by method, route and status"
    );
    metrics::describe_histogram!(SYNC_DURATION, metrics::Unit::Seconds, "GitHub sync runs, by outcome");
    metrics::describe_histogram!(INGEST_DURATION, metrics::Unit::Seconds, "Recording one scan's findings, by outcome");
    metrics::describe_gauge!(JOBS_RUNNING, "Background work in progress now (all server processes), by job");
    metrics::describe_gauge!(QUEUE_DEPTH, "Jobs on the queue (all processes), by kind and state");
    metrics::describe_histogram!(JOB_DURATION, metrics::Unit::Seconds, "One attempt of a job, by kind and outcome");
    metrics::describe_histogram!(
        JOB_LATENCY,
        metrics::Unit::Seconds,
        "From a job's request (a webhook received, a click) to its work committed, by kind"
    );
}

/// Job kinds are a closed set ([`crate::jobs::queue::JobSpec::kind`]): safe as labels.
pub fn job_finished(kind: &'static str, took: std::time::Duration, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!(JOB_DURATION, "kind" => kind, "outcome" => outcome).record(took.as_secs_f64());
}

/// A job's work committed: how long since it was asked for.
pub fn job_latency(kind: &'static str, requested_at: chrono::DateTime<chrono::Utc>) {
    let seconds = (chrono::Utc::now() - requested_at).num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!(JOB_LATENCY, "kind" => kind).record(seconds);
}

/// Middleware: times every request under labels from closed sets — the method if it is a
/// standard one, the route template (`/findings/{id}`, never the raw path), the status — so
/// no client can add series (each one stays in memory for the life of the process).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Records how long `work` took under `name`, labelled by its outcome.
pub async fn timed<T, E>(name: &'static str, work: impl std::future::Future<Output = Result<T, E>>) -> Result<T, E> {
    let started = Instant::now();
    let result = work.await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::histogram!(name, "outcome" => outcome).record(started.elapsed().as_secs_f64());
    result
}

/// The method as a label: the standard ones by name, anything a client invents as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let handle = handle();
    // Work in progress is read from the database at scrape time: it counts every process.
    if let Ok(running) = db::models::github::jobs_running(&state.pool).await {
        metrics::gauge!(JOBS_RUNNING, "job" => "github_sync").set(running.syncs as f64);
        metrics::gauge!(JOBS_RUNNING, "job" => "weekly_report").set(running.reports as f64);
    }
    if let Ok(counts) = db::models::jobs::counts(&state.pool).await {
        for count in counts {
            // Kinds and states come from closed sets; anything else is folded into "other".
            let kind = crate::jobs::kinds::known_kind(&count.kind);
            let state = match count.state.as_str() {
                "pending" => "pending",
                "in_progress" => "in_progress",
                "succeeded" => "succeeded",
                "cancelled" => "cancelled",
                "failed" => "failed",
                _ => "other",
            };
            metrics::gauge!(QUEUE_DEPTH, "kind" => kind, "state" => state).set(count.count as f64);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

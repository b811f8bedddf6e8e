//! `GET /api/live`: server-sent events announcing every change, so open pages refresh.
//!
//! One `LISTEN unthread_events` connection per server process (the `events` table's trigger
//! notifies on commit; [`crate::live_hub`]) feeds a broadcast channel that every open stream
//! reads. Several
//! server processes behind a load balancer each listen, so a claim made through one reaches
//! browsers connected to any other.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures::{Stream, StreamExt};

use crate::state::ServerState;

/// A live stream, within the streams one client and everyone may hold (`503` with
/// `Retry-After` beyond them: the page still works, it just does not refresh by itself).
pub async fn stream(State(state): State<ServerState>, request: axum::extract::Request) -> Response {
    let client = crate::rate_limit::client_address(request.headers(), request.extensions(), state.trust_forwarded_for);
    match state.live_streams.take(client) {
        Ok(slot) => events(&state, slot).into_response(),
        Err(refused) => {
            let why = match refused {
                crate::connections::Refused::Full => "every live-update stream is in use",
                crate::connections::Refused::ClientFull => "too many live-update streams from here",
            };
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("30"));
            (StatusCode::SERVICE_UNAVAILABLE, headers, format!("{why}: try again later")).into_response()
        }
    }
}

fn events(
    state: &ServerState,
    slot: crate::connections::SlotGuard,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.live.subscribe();
    // The slot is held as long as the stream: dropped with it when the client goes.
    let events = tokio_stream::wrappers::BroadcastStream::new(receiver).map(move |message| {
        let _held = &slot;
        Ok(match message {
            Ok(payload) => Event::default().data(payload),
            // This stream fell behind: the page should simply refresh everything.
            Err(_lagged) => Event::default().data(r#"{"kind":"live.lagged"}"#),
        })
    });
    // `retry` tells the browser how soon to reconnect after a drop.
    let hello =
        futures::stream::once(async { Ok(Event::default().retry(Duration::from_secs(2)).comment("connected")) });
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

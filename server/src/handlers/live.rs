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
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};

use crate::state::ServerState;

pub async fn stream(State(state): State<ServerState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.live.subscribe();
    let events = tokio_stream::wrappers::BroadcastStream::new(receiver).map(|message| {
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

//! `GET /api/live`: server-sent events announcing every change, so open pages refresh.
//!
//! One `LISTEN unthread_events` connection per server process (the `events` table's trigger
//! notifies on commit) feeds a broadcast channel that every open stream reads. Several
//! server processes behind a load balancer each listen, so a claim made through one reaches
//! browsers connected to any other.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use sqlx::{postgres::PgListener, PgPool};
use tokio::sync::broadcast;

use crate::state::ServerState;

/// The channel `announce_event()` notifies on.
pub const CHANNEL: &str = "unthread_events";

/// Announcements received from PostgreSQL, for every open stream of this process.
#[derive(Clone)]
pub struct LiveHub(broadcast::Sender<String>);

impl LiveHub {
    /// Starts listening on `pool`'s database in the background; retries after a lost
    /// connection (a PostgreSQL restart) until the process ends. Every announcement also
    /// invalidates `cache`.
    pub fn start(pool: PgPool, cache: app::cache::ReadCache) -> Self {
        let (sender, _) = broadcast::channel(256);
        let hub = LiveHub(sender);
        tokio::spawn(listen(pool, cache, hub.0.clone()));
        hub
    }
}

async fn listen(pool: PgPool, cache: app::cache::ReadCache, sender: broadcast::Sender<String>) {
    // Until the server shuts down (and closes the pool).
    while !pool.is_closed() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!("live updates: cannot connect to listen, retrying: {e}");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!("live updates: LISTEN failed, retrying: {e}");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            // `try_recv` reports a lost connection as `None` (recv would silently reconnect
            // and drop what was sent meanwhile); tell the streams to refresh in that case.
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    cache.invalidate();
                    // No receiver is fine: nobody has a page open.
                    let _ = sender.send(notification.payload().to_owned());
                }
                Ok(None) => {
                    // Changes may have been missed while disconnected.
                    cache.invalidate();
                    tracing::warn!("live updates: connection lost, reconnecting");
                    let _ = sender.send(r#"{"kind":"live.reconnected"}"#.to_owned());
                }
                Err(e) => {
                    tracing::warn!("live updates: {e}; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

pub async fn stream(State(state): State<ServerState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let hub = state.live;
    let receiver = hub.0.subscribe();
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

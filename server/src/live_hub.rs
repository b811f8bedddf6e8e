//! This process's one `LISTEN unthread_events` connection and the broadcast channel it feeds:
//! every open live stream (`handlers::live`) reads it, and every announcement drops the read
//! cache. Kept apart from the handler so that the server's state can hold it.

use std::time::Duration;

use sqlx::{postgres::PgListener, PgPool};
use tokio::sync::broadcast;

/// The channel `announce_event()` notifies on.
pub const CHANNEL: &str = "unthread_events";

/// Announcements received from PostgreSQL, for every open stream of this process.
#[derive(Clone)]
pub struct LiveHub(broadcast::Sender<String>);

impl LiveHub {
    /// A receiver of every announcement from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.0.subscribe()
    }

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
    // The listening connection is held for the life of the process: it comes from a pool of
    // its own, not from the one requests share (where it would be one connection fewer for
    // them, for good — a router built per test took a connection each until the pool ran
    // dry and requests waited out the 30 s timeout).
    let own =
        sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with((*pool.connect_options()).clone());
    // Until the server shuts down (and closes the pool).
    while !pool.is_closed() {
        let mut listener = match PgListener::connect_with(&own).await {
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

//! Accepting connections: the HTTP/1 server loop behind `unthread serve`, with the limits
//! `axum::serve` has no knobs for — a deadline for a request's headers (which also closes
//! connections left idle between requests), connections per client and in all (beyond them
//! a `503` with `Retry-After` and the connection closed), and a file-descriptor limit raised
//! to fit them. Everything else is axum's router.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{io::AsyncWriteExt, net::TcpListener};
use tower::ServiceExt;

use crate::connections::{Refused, Slots};

/// How many connections are held, and for how long an idle one is kept.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this; a connection idle this long between
    /// requests is closed.
    pub header_timeout: Duration,
    /// Connections held at once, in all.
    pub max_connections: usize,
    /// Connections held at once from one address (behind a reverse proxy every client has
    /// the proxy's: raise it there).
    pub max_connections_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { header_timeout: Duration::from_secs(10), max_connections: 4096, max_connections_per_client: 256 }
    }
}

/// The answer to a connection beyond the limits, written before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 48\r\nconnection: close\r\n\r\ntoo many connections from here: try again soon\r\n";

/// Raises this process's open-file limit to its hard limit and fits `limits` within it,
/// keeping `reserve` descriptors for the database, files and the rest. Returns the limits
/// to use (lowered, with a warning, when the system allows fewer descriptors).
pub fn fit_file_descriptors(mut limits: ConnectionLimits, reserve: usize) -> ConnectionLimits {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let available = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => return limits,
    };
    let room = usize::try_from(available).unwrap_or(usize::MAX).saturating_sub(reserve).max(16);
    if limits.max_connections > room {
        tracing::warn!(
            wanted = limits.max_connections,
            open_files = available,
            "the open-file limit allows {room} connections: serving at most that many"
        );
        limits.max_connections = room;
        limits.max_connections_per_client = limits.max_connections_per_client.min(room);
    }
    limits
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Slots::new(limits.max_connections, limits.max_connections_per_client);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match slots.take(Some(client_of(peer))) {
            Ok(slot) => slot,
            Err(refused) => {
                if refused == Refused::Full {
                    tracing::warn!(held = slots.total(), "connection refused: every connection slot is held");
                }
                tokio::spawn(refuse(stream));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    // Open requests finish (live streams end with the shutdown of their hub), at most 30 s.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("connections still open after 30 s: closing them"),
    }
    Ok(())
}

fn client_of(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Says why, then closes: a client over its share learns to come back later.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(BUSY).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

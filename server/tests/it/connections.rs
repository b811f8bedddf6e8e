//! The server loop's limits (`unthread_server::listen`), over real sockets: idle and
//! trickling connections are closed at the header deadline, one client's connections and
//! live streams are capped (a 503 with Retry-After beyond), and the others are still served.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use unthread_server::listen::{serve, ConnectionLimits};

use crate::support::{fresh_database, TestApp};

/// A server on an ephemeral port with `limits`, until the test ends.
async fn start(limits: ConnectionLimits, live_per_client: usize) -> SocketAddr {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool)
        .with(|s| s.live_streams = unthread_server::config::StreamLimits { total: 100, per_client: live_per_client })
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

/// A connection to `addr` from the loopback address `from` (127.0.0.x: another client).
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&format!("{from}:0").parse::<SocketAddr>().unwrap().into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// What the server sends until it closes the connection (or 10 s pass), and when it closed.
fn read_until_closed(mut stream: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

fn get(stream: &mut TcpStream, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed_at_the_header_deadline() {
    let limits = ConnectionLimits { header_timeout: Duration::from_secs(1), ..Default::default() };
    let addr = start(limits, 8).await;
    let (idle, trickling) = tokio::task::spawn_blocking(move || {
        let idle = connect_from("127.0.0.1", addr);
        let mut trickling = connect_from("127.0.0.1", addr);
        let writer = std::thread::spawn(move || {
            // One header byte every 300 ms: never a whole request.
            for byte in b"GET /healthz HTTP/1.1\r\nhost: x\r\n" {
                if trickling.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            trickling
        });
        let idle = read_until_closed(idle);
        (idle, writer)
    })
    .await
    .unwrap();
    assert!(idle.1 < Duration::from_secs(4), "an idle connection is closed after the deadline: {:?}", idle.1);
    let trickling = tokio::task::spawn_blocking(move || read_until_closed(trickling.join().unwrap())).await.unwrap();
    assert!(trickling.0.is_empty() || trickling.0.starts_with("HTTP/1.1 408"), "{}", trickling.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_connection_or_live_stream() {
    let limits = ConnectionLimits { max_connections_per_client: 20, ..Default::default() };
    let addr = start(limits, 2).await;
    tokio::task::spawn_blocking(move || {
        // 20 idle connections from one client: its share.
        let held: Vec<TcpStream> = (0..20).map(|_| connect_from("127.0.0.2", addr)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let (refused, _) = read_until_closed(connect_from("127.0.0.2", addr));
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(refused.to_ascii_lowercase().contains("retry-after: 5"), "{refused}");
        // Another client is served meanwhile.
        let page = get(&mut connect_from("127.0.0.1", addr), "/healthz");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        drop(held);

        // Live streams: two per client here; the third is refused, with when to come back.
        let open_stream = || {
            let mut stream = connect_from("127.0.0.3", addr);
            write!(stream, "GET {} HTTP/1.1\r\nhost: localhost\r\n\r\n", app::live::LIVE_PATH).unwrap();
            let mut head = [0u8; 64];
            let n = stream.read(&mut head).unwrap();
            (String::from_utf8_lossy(&head[..n]).into_owned(), stream)
        };
        let (first, _a) = open_stream();
        let (second, _b) = open_stream();
        assert!(first.starts_with("HTTP/1.1 200") && second.starts_with("HTTP/1.1 200"), "{first} {second}");
        let mut third = connect_from("127.0.0.3", addr);
        let answer = get(&mut third, app::live::LIVE_PATH);
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("retry-after: 30"), "{answer}");
        assert!(answer.contains("too many live-update streams from here"), "{answer}");
        drop((_a, _b));
    })
    .await
    .unwrap();
}

/// Web requests' statements run with their own limits: PostgreSQL cancels them after 20 s,
/// and a search's counts may hash in memory rather than sort on disk.
#[tokio::test]
async fn request_statements_have_their_own_limits() {
    let pool = fresh_database().await;
    let requests = db::connect::request_pool(&pool);
    let show = |setting: &'static str| {
        let requests = requests.clone();
        async move { sqlx::query_scalar::<_, String>(&format!("SHOW {setting}")).fetch_one(&requests).await.unwrap() }
    };
    assert_eq!(show("statement_timeout").await, db::connect::REQUEST_STATEMENT_TIMEOUT);
    assert_eq!(show("work_mem").await, db::connect::REQUEST_WORK_MEM);
    // The jobs' pool keeps the server's defaults.
    let jobs: String = sqlx::query_scalar("SHOW work_mem").fetch_one(&pool).await.unwrap();
    assert_ne!(jobs, db::connect::REQUEST_WORK_MEM);
}

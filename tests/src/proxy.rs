//! A TCP proxy that counts network round trips and can add latency.
//!
//! A round trip is counted each time the client starts sending after it last
//! heard from the server (or for the first time): a client that writes four
//! pipelined messages and then reads four answers makes one; a client that
//! awaits each answer before the next message makes four. `netem` is not
//! available here, so this is how the tests see the wire.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CLIENT_SPOKE: u8 = 1;
const SERVER_SPOKE: u8 = 2;

pub struct RoundTripProxy {
    pub addr: SocketAddr,
    round_trips: Arc<AtomicUsize>,
    held: Arc<tokio::sync::watch::Sender<bool>>,
}

impl RoundTripProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`,
    /// delaying each client-to-server chunk by `delay`.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let round_trips = Arc::new(AtomicUsize::new(0));
        let (held, _) = tokio::sync::watch::channel(false);
        let held = Arc::new(held);
        let counter = round_trips.clone();
        let hold = held.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                let hold = hold.subscribe();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        pipe(client, server, counter, delay, hold).await;
                    }
                });
            }
        });
        Self {
            addr,
            round_trips,
            held,
        }
    }

    /// While held, client bytes are kept back: the server looks silent, as
    /// a pooler waiting for a restarting database does.
    pub fn hold(&self, on: bool) {
        self.held.send_replace(on);
    }

    pub fn round_trips(&self) -> usize {
        self.round_trips.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.round_trips.store(0, Ordering::SeqCst);
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    counter: Arc<AtomicUsize>,
    delay: Duration,
    mut hold: tokio::sync::watch::Receiver<bool>,
) {
    // Without this, Nagle's algorithm holds back our small writes for the
    // peer's delayed ACK (40 ms on Linux) and the figures measure that instead.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let last = Arc::new(AtomicU8::new(0));
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up_last = last.clone();
    // Latency, not bandwidth: each chunk is delivered `delay` after it
    // arrived, so pipelined chunks overlap instead of queueing one behind another.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let read_up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if up_last.swap(CLIENT_SPOKE, Ordering::SeqCst) != CLIENT_SPOKE {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            if tx
                .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    let write_up = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if hold.wait_for(|held| !held).await.is_err() {
                break;
            }
            if sw.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            last.store(SERVER_SPOKE, Ordering::SeqCst);
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(read_up, write_up, down);
}

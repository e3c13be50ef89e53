//! A minimal Lambda Runtime API on loopback, enough to cold-start a real
//! `bootstrap`: `GET /2018-06-01/runtime/invocation/next` hands out one event,
//! `POST .../invocation/{id}/response` (or `.../error`, `.../init/error`)
//! ends the start. Later `next` calls are left waiting, as Lambda freezes
//! the environment.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy)]
enum Seen {
    Next(Instant),
    Response(Instant),
    Error,
}

/// One cold start: `(time to the first "next" = init done, time to the
/// first response)`, both from spawning the process.
pub async fn cold_start(
    bin: &Path,
    env: &[(String, String)],
    event: String,
) -> Result<(Duration, Duration)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = tokio::spawn(serve(listener, Arc::new(event), tx));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut init = None;
    let outcome = loop {
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Some(Seen::Next(t))) => {
                init.get_or_insert(t - started);
            }
            Ok(Some(Seen::Response(t))) => {
                break Ok((init.unwrap_or(t - started), t - started));
            }
            Ok(Some(Seen::Error)) => break Err(anyhow::anyhow!("the function reported an error")),
            Ok(None) => break Err(anyhow::anyhow!("runtime API server stopped")),
            Err(_) => break Err(anyhow::anyhow!("no response within 15 s")),
        }
    };
    let _ = child.kill().await;
    server.abort();
    outcome
}

async fn serve(listener: TcpListener, event: Arc<String>, tx: mpsc::UnboundedSender<Seen>) {
    let handed_out = Arc::new(AtomicBool::new(false));
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            event.clone(),
            tx.clone(),
            handed_out.clone(),
        ));
    }
}

async fn connection(
    stream: TcpStream,
    event: Arc<String>,
    tx: mpsc::UnboundedSender<Seen>,
    handed_out: Arc<AtomicBool>,
) -> Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        r.read_exact(&mut body).await?;
        let now = Instant::now();
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = tx.send(Seen::Next(now));
            if handed_out.swap(true, Ordering::SeqCst) {
                // Frozen until killed.
                std::future::pending::<()>().await;
            }
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
                 content-length: {}\r\n\r\n",
                event.len()
            );
            w.write_all(head.as_bytes()).await?;
            w.write_all(event.as_bytes()).await?;
        } else if method == "POST" && path.ends_with("/response") {
            let _ = tx.send(Seen::Response(now));
            reply_accepted(&mut w).await?;
        } else if method == "POST" && path.ends_with("/error") {
            let _ = tx.send(Seen::Error);
            reply_accepted(&mut w).await?;
        } else {
            w.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await?;
        }
        w.flush().await?;
    }
}

async fn reply_accepted(w: &mut tokio::net::tcp::OwnedWriteHalf) -> Result<()> {
    let body = br#"{"status":"OK"}"#;
    let head = format!(
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes()).await?;
    w.write_all(body).await?;
    Ok(())
}

/// Whether `bin` exists, with a hint to build it.
pub fn require(bin: &Path) -> Result<()> {
    if !bin.is_file() {
        bail!(
            "{} not found: cargo build --release -p <function>",
            bin.display()
        );
    }
    Ok(())
}

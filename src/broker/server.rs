//! Accept loop over every listener and per-connection tasks: length-prefixed frames in,
//! responses out in request order.
//!
//! A TLS listener runs the handshake in the connection's own task (bounded in time), so a slow
//! client never holds up accepting others. On a SASL listener each connection passes through
//! its `SaslSession` gate until the client has authenticated: until then frames are capped at
//! Kafka's `sasl.server.max.receive.size` and the exchange must finish within
//! [`AUTHENTICATION_TIMEOUT`].
//!
//! Each connection has a reader that decodes requests and runs their handlers in arrival order
//! (so appends keep producer order), and a writer that awaits each reply in turn and writes it.
//! Replies that must wait (acks=all durability, a long-polling fetch, a parked group join) do
//! so in the writer, which lets a producer keep several requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::broker::dispatch::{self, Reply};
use crate::broker::error::ConnectionError;
use crate::broker::security::sasl::{self, Outgoing, SaslSession, Step};
use crate::broker::security::{tls, SecurityProtocol};
use crate::broker::Broker;

/// How long in-flight requests may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Replies queued per connection before the reader stops reading (backpressure).
const MAX_IN_FLIGHT: usize = 64;
/// A TLS handshake must finish within this.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A SASL client must authenticate within this of connecting (clients take milliseconds).
pub const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(30);

/// One bound listener.
pub struct Listener {
    /// Position in `--listen` order; requests carry it to find their advertised endpoint.
    pub index: usize,
    pub protocol: SecurityProtocol,
    pub tcp: TcpListener,
    /// Set for SSL and SASL_SSL.
    pub tls: Option<TlsAcceptor>,
}

/// The next connection on any listener; `start` rotates so that none is starved.
async fn accept_any(listeners: &[Listener], start: usize) -> (usize, std::io::Result<(TcpStream, SocketAddr)>) {
    std::future::poll_fn(|cx| {
        for k in 0..listeners.len() {
            let i = (start + k) % listeners.len();
            if let Poll::Ready(r) = listeners[i].tcp.poll_accept(cx) {
                return Poll::Ready((i, r));
            }
        }
        Poll::Pending
    })
    .await
}

pub async fn serve(listeners: Vec<Listener>, broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let mut turn = 0usize;
    loop {
        tokio::select! {
            (i, accepted) = accept_any(&listeners, turn) => match accepted {
                Ok((stream, peer)) => {
                    turn = i + 1;
                    let _ = stream.set_nodelay(true);
                    let b = Arc::clone(&broker);
                    let sd = shutdown.clone();
                    let l = &listeners[i];
                    let (index, protocol, tls) = (l.index, l.protocol, l.tls.clone());
                    conns.spawn(async move {
                        match serve_connection(stream, peer, index, protocol, tls, b, sd).await {
                            Ok(()) => tracing::debug!(%peer, "connection closed"),
                            Err(e) => tracing::warn!(%peer, listener = %protocol, reason = %e, "closing connection"),
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listeners);
    let deadline = tokio::time::sleep(SHUTDOWN_GRACE);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = conns.join_next() => if next.is_none() { break },
            _ = &mut deadline => {
                tracing::warn!(remaining = conns.len(), "shutdown grace period over; dropping connections");
                conns.abort_all();
                break;
            }
        }
    }
}

/// Request metadata the handlers see.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: String,
    pub client_host: String,
    /// Index of the listener the request came in on (see `Broker::endpoint`).
    pub listener: usize,
}

/// Runs one accepted connection: the TLS handshake on a TLS listener, then the frames, through
/// a SASL gate on a SASL listener.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: usize,
    protocol: SecurityProtocol,
    tls: Option<TlsAcceptor>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnectionError> {
    let gate = protocol
        .sasl()
        .then(|| SaslSession::new(Arc::clone(&broker.security), peer.ip()));
    let Some(acceptor) = tls else {
        let (rd, wr) = stream.into_split();
        return connection(rd, wr, peer, listener, gate, broker, shutdown).await;
    };
    let stream = tokio::select! {
        r = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(ConnectionError::Tls(format!("handshake failed: {e}"))),
            Err(_) => {
                return Err(ConnectionError::Tls(format!(
                    "handshake not finished within {} s",
                    TLS_HANDSHAKE_TIMEOUT.as_secs()
                )))
            }
        },
        _ = shutdown.changed() => return Ok(()),
    };
    if let Some(principal) = tls::client_principal(stream.get_ref().1) {
        tracing::debug!(%peer, %principal, "TLS client certificate accepted");
    }
    let (rd, wr) = tokio::io::split(stream);
    connection(rd, wr, peer, listener, gate, broker, shutdown).await
}

async fn connection<R, W>(
    rd: R,
    wr: W,
    peer: SocketAddr,
    listener: usize,
    mut gate: Option<SaslSession>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnectionError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let (tx, rx) = mpsc::channel::<Out>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_loop(wr, rx));
    let max_frame = broker.max_frame_bytes();
    let host = peer.ip().to_string();
    let auth_deadline = tokio::time::Instant::now() + AUTHENTICATION_TIMEOUT;
    let result = loop {
        let authenticating = gate.as_ref().is_some_and(|g| !g.authenticated());
        let size = tokio::select! {
            r = rd.read_i32() => match r {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
                Err(e) if is_reset(&e) => break Ok(()),
                Err(e) => break Err(e.into()),
            },
            _ = shutdown.changed() => break Ok(()),
            _ = tokio::time::sleep_until(auth_deadline), if authenticating => {
                break Err(ConnectionError::Unauthenticated(format!(
                    "no SASL authentication within {} s",
                    AUTHENTICATION_TIMEOUT.as_secs()
                )))
            }
        };
        // Before authentication nobody gets to make the broker buffer a large frame.
        let max = if authenticating {
            max_frame.min(sasl::MAX_RECEIVE)
        } else {
            max_frame
        };
        if size < 0 || size as usize > max {
            break Err(ConnectionError::FrameTooLarge { size: size as i64, max });
        }
        // Read into uninitialised capacity: zeroing a fresh megabyte per produce request costs
        // more than the CRC check.
        let size = size as usize;
        let mut frame = BytesMut::with_capacity(size);
        let mut failed = None;
        while frame.len() < size {
            let want = (size - frame.len()) as u64;
            match (&mut rd).take(want).read_buf(&mut frame).await {
                Ok(0) => {
                    failed = Some(ConnectionError::BadHeader(format!(
                        "connection closed inside a {size}-byte frame"
                    )));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    failed = Some(e.into());
                    break;
                }
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        let frame = frame.freeze();
        if let Some(g) = gate.as_mut().filter(|g| !g.authenticated()) {
            let out = |o: Outgoing| match o {
                Outgoing::Response(ctx, r) => Out::Reply(ctx, Reply::Now(r)),
                Outgoing::Token(t) => Out::Token(t),
            };
            match g.on_frame(frame.clone(), &host, listener).await {
                Step::Dispatch => {}
                Step::Send(o) => {
                    if tx.send(out(o)).await.is_err() {
                        break Ok(());
                    }
                    continue;
                }
                Step::Authenticated { send, principal } => {
                    tracing::debug!(%peer, principal = ?principal, "SASL authentication succeeded");
                    if tx.send(out(send)).await.is_err() {
                        break Ok(());
                    }
                    continue;
                }
                Step::Fail { send, reason } => {
                    // Kafka's connection.failed.authentication.delay.ms: the answer (and the
                    // close) come late, which slows a password guesser down.
                    tokio::time::sleep(g.failure_delay()).await;
                    if let Some(o) = send {
                        let _ = tx.send(out(o)).await;
                    }
                    break Err(ConnectionError::Authentication(reason));
                }
                Step::Close(e) => break Err(e),
            }
        }
        match dispatch::handle_frame(&broker, frame, &host, listener).await {
            Ok((ctx, reply)) => {
                if let Reply::Close(reason) = reply {
                    break Err(reason);
                }
                if tx.send(Out::Reply(ctx, reply)).await.is_err() {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    // Let queued replies go out before the socket closes (a clean close after the last reply).
    drop(tx);
    match writer.await {
        Ok(Err(e)) if result.is_ok() => return Err(e),
        _ => {}
    }
    result
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    )
}

/// What the writer sends, in request order.
enum Out {
    Reply(RequestContext, Reply),
    /// A size-prefixed SASL token outside Kafka's framing (after SaslHandshake v0).
    Token(Bytes),
}

async fn write_loop<W: AsyncWrite + Unpin>(wr: W, mut rx: mpsc::Receiver<Out>) -> Result<(), ConnectionError> {
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut buf = BytesMut::new();
    while let Some(out) = rx.recv().await {
        let (ctx, reply) = match out {
            Out::Reply(ctx, reply) => (ctx, reply),
            Out::Token(token) => {
                buf.clear();
                buf.put_i32(token.len() as i32);
                buf.extend_from_slice(&token);
                if let Err(e) = wr.write_all(&buf).await.and(wr.flush().await) {
                    return if is_reset(&e) { Ok(()) } else { Err(e.into()) };
                }
                continue;
            }
        };
        let response = match reply {
            Reply::Now(r) => r,
            Reply::Later(fut) => {
                // Send what is already answered before waiting (an fsync, a long poll): the
                // queue behind us is never empty while a producer pipelines, so waiting for
                // it to drain would hold finished replies back.
                if !wr.buffer().is_empty() {
                    if let Err(e) = wr.flush().await {
                        return if is_reset(&e) { Ok(()) } else { Err(e.into()) };
                    }
                }
                fut.await
            }
            Reply::None | Reply::Close(_) => continue,
        };
        buf.clear();
        buf.put_i32(0);
        dispatch::encode_response(&ctx, &response, &mut buf)?;
        let len = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        if let Err(e) = wr.write_all(&buf).await {
            return if is_reset(&e) { Ok(()) } else { Err(e.into()) };
        }
        if rx.is_empty() {
            if let Err(e) = wr.flush().await {
                return if is_reset(&e) { Ok(()) } else { Err(e.into()) };
            }
        }
    }
    let _ = wr.flush().await;
    // TLS: close_notify, so the client sees an orderly end rather than a truncation.
    let _ = wr.shutdown().await;
    Ok(())
}

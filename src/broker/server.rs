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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::SplicedBuf;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
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
/// A frame buffer starts this large (or the frame's size, if smaller) and doubles as the
/// frame's bytes arrive. A produce request of librdkafka's default 1 MB fits at once: growing
/// it by doubling from 64 KiB copied it four times.
const FRAME_START_CAPACITY: usize = 1024 * 1024 + 64 * 1024;
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

/// Per-connection limits, from the broker config (README "Limits").
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_connections: usize,
    max_per_ip: usize,
    idle: Duration,
    in_flight: usize,
}

impl Limits {
    fn of(broker: &Broker) -> Limits {
        let c = &broker.config;
        Limits {
            max_connections: c.get_i64("max.connections").max(1) as usize,
            max_per_ip: c.get_i64("max.connections.per.ip").max(1) as usize,
            idle: Duration::from_millis(c.get_i64("connections.max.idle.ms").max(1) as u64),
            in_flight: c.get_i64("strom.connection.max.in.flight.requests").max(1) as usize,
        }
    }
}

/// Open connections, in total and per client address. A slot is held by a [`Slot`] and given
/// back when it drops, however the connection ends.
#[derive(Default)]
struct Connections {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

struct Slot {
    ip: IpAddr,
    open: Arc<Mutex<Connections>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

/// Takes a connection slot for `ip`, or says which limit is reached (0: the total, 1: the
/// address's) and why.
fn admit(open: &Arc<Mutex<Connections>>, ip: IpAddr, limits: &Limits) -> Result<Slot, (usize, String)> {
    let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
    if o.total >= limits.max_connections {
        return Err((0, format!("max.connections ({}) reached", limits.max_connections)));
    }
    let mine = o.per_ip.get(&ip).copied().unwrap_or(0);
    if mine >= limits.max_per_ip {
        return Err((
            1,
            format!("max.connections.per.ip ({}) reached for {ip}", limits.max_per_ip),
        ));
    }
    o.total += 1;
    *o.per_ip.entry(ip).or_insert(0) += 1;
    Ok(Slot {
        ip,
        open: Arc::clone(open),
    })
}

pub async fn serve(listeners: Vec<Listener>, broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let limits = Limits::of(&broker);
    let open = Arc::new(Mutex::new(Connections::default()));
    // Refusals are logged at most once a second per limit (with how many since the last line),
    // so a flood of connections cannot flood the log.
    let mut refused = [0u64; 2];
    let mut refused_logged = [None::<tokio::time::Instant>; 2];
    let mut conns = JoinSet::new();
    let mut turn = 0usize;
    loop {
        tokio::select! {
            (i, accepted) = accept_any(&listeners, turn) => match accepted {
                Ok((stream, peer)) => {
                    turn = i + 1;
                    let slot = match admit(&open, peer.ip(), &limits) {
                        Ok(slot) => slot,
                        Err((limit, reason)) => {
                            // Kafka closes a connection over its quota at once; so do we.
                            drop(stream);
                            refused[limit] += 1;
                            if refused_logged[limit].is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                                tracing::warn!(%peer, %reason, refused = refused[limit], "connection refused");
                                refused[limit] = 0;
                                refused_logged[limit] = Some(tokio::time::Instant::now());
                            }
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let b = Arc::clone(&broker);
                    let sd = shutdown.clone();
                    let l = &listeners[i];
                    let (index, protocol, tls) = (l.index, l.protocol, l.tls.clone());
                    conns.spawn(async move {
                        let _slot = slot;
                        match serve_connection(stream, peer, index, protocol, tls, b, sd, limits).await {
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
    limits: Limits,
) -> Result<(), ConnectionError> {
    let gate = protocol
        .sasl()
        .then(|| SaslSession::new(Arc::clone(&broker.security), peer.ip()));
    let Some(acceptor) = tls else {
        let (rd, wr) = stream.into_split();
        return connection(rd, wr, peer, listener, gate, broker, shutdown, limits).await;
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
    connection(rd, wr, peer, listener, gate, broker, shutdown, limits).await
}

async fn connection<R, W>(
    rd: R,
    wr: W,
    peer: SocketAddr,
    listener: usize,
    mut gate: Option<SaslSession>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) -> Result<(), ConnectionError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    // The reader stops reading while `in_flight` replies are unanswered: a client pipelining
    // more waits (TCP backpressure), as Kafka's muted channels make it.
    let (tx, rx) = mpsc::channel::<Out>(limits.in_flight);
    let pending = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn(write_loop(wr, rx, Arc::clone(&pending)));
    let max_frame = broker.max_frame_bytes();
    let host = peer.ip().to_string();
    let auth_deadline = tokio::time::Instant::now() + AUTHENTICATION_TIMEOUT;
    let result = loop {
        let authenticating = gate.as_ref().is_some_and(|g| !g.authenticated());
        // Wait for the first byte of the next request. Idle means nothing to read and nothing
        // owed: a consumer long-polling is not idle. `fill_buf` is cancel-safe (it consumes
        // nothing), so a timer may fire at any point.
        let idle = tokio::time::sleep(limits.idle);
        tokio::pin!(idle);
        let more = loop {
            tokio::select! {
                r = rd.fill_buf() => break r.map(|b| !b.is_empty()),
                _ = &mut idle => {
                    if pending.load(Ordering::Acquire) == 0 {
                        break Err(std::io::Error::from(std::io::ErrorKind::TimedOut));
                    }
                    idle.as_mut().reset(tokio::time::Instant::now() + limits.idle);
                }
                _ = shutdown.changed() => break Ok(false),
                _ = tokio::time::sleep_until(auth_deadline), if authenticating => {
                    break Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
                }
            }
        };
        match more {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                break Err(ConnectionError::Idle {
                    ms: limits.idle.as_millis() as u64,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                break Err(ConnectionError::Unauthenticated(format!(
                    "no SASL authentication within {} s",
                    AUTHENTICATION_TIMEOUT.as_secs()
                )))
            }
            Err(e) if is_reset(&e) => break Ok(()),
            Err(e) => break Err(e.into()),
        }
        // Before authentication nobody gets to make the broker buffer a large frame.
        let max = if authenticating {
            max_frame.min(sasl::MAX_RECEIVE)
        } else {
            max_frame
        };
        // A request has begun: the whole frame must arrive within the idle timeout, so a client
        // that sends half a frame and stops cannot hold its buffer and slot for ever.
        let frame = match tokio::time::timeout(limits.idle, read_frame(&mut rd, max)).await {
            Ok(Ok(frame)) => frame,
            Ok(Err(e)) => break Err(e),
            Err(_) => {
                break Err(ConnectionError::StalledFrame {
                    ms: limits.idle.as_millis() as u64,
                })
            }
        };
        if let Some(g) = gate.as_mut().filter(|g| !g.authenticated()) {
            let out = |o: Outgoing| match o {
                Outgoing::Response(ctx, r) => Out::Reply(ctx, Reply::Now(r)),
                Outgoing::Token(t) => Out::Token(t),
            };
            match g.on_frame(frame.clone(), &host, listener).await {
                Step::Dispatch => {}
                Step::Send(o) => {
                    if queue(&tx, &pending, out(o)).await.is_err() {
                        break Ok(());
                    }
                    continue;
                }
                Step::Authenticated { send, principal } => {
                    tracing::debug!(%peer, principal = ?principal, "SASL authentication succeeded");
                    if queue(&tx, &pending, out(send)).await.is_err() {
                        break Ok(());
                    }
                    continue;
                }
                Step::Fail { send, reason } => {
                    // Kafka's connection.failed.authentication.delay.ms: the answer (and the
                    // close) come late, which slows a password guesser down.
                    tokio::time::sleep(g.failure_delay()).await;
                    if let Some(o) = send {
                        let _ = queue(&tx, &pending, out(o)).await;
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
                if queue(&tx, &pending, Out::Reply(ctx, reply)).await.is_err() {
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

/// Queues a reply for the writer, counting it as owed until written.
async fn queue(tx: &mpsc::Sender<Out>, pending: &AtomicUsize, out: Out) -> Result<(), ()> {
    pending.fetch_add(1, Ordering::AcqRel);
    tx.send(out).await.map_err(|_| ())
}

/// Reads one length-prefixed frame. The size is checked against `max` before anything is
/// allocated, and the buffer grows (doubling, from [`FRAME_START_CAPACITY`]) as the bytes
/// arrive, so a client claiming 100 MB and sending 10 bytes holds about 1 MiB, not 100 MB
/// (uninitialised: only the pages written to are touched). Bytes are read into uninitialised
/// capacity: zeroing a fresh megabyte per produce request costs more than the CRC check.
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, max: usize) -> Result<Bytes, ConnectionError> {
    let size = match rd.read_i32().await {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(ConnectionError::BadHeader(
                "connection closed inside a frame length".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    if size < 0 || size as usize > max {
        return Err(ConnectionError::FrameTooLarge { size: size as i64, max });
    }
    let size = size as usize;
    let mut frame = BytesMut::with_capacity(size.min(FRAME_START_CAPACITY));
    while frame.len() < size {
        if frame.len() == frame.capacity() {
            let grow = frame.len().max(FRAME_START_CAPACITY).min(size - frame.len());
            frame.reserve(grow);
        }
        let want = (size - frame.len()).min(frame.capacity() - frame.len()) as u64;
        if (&mut *rd).take(want).read_buf(&mut frame).await? == 0 {
            return Err(ConnectionError::BadHeader(format!(
                "connection closed inside a {size}-byte frame"
            )));
        }
    }
    Ok(frame.freeze())
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    )
}

/// Marks one queued reply as no longer owed when dropped: written, skipped or abandoned.
struct Written<'a>(&'a AtomicUsize);

impl Drop for Written<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the writer sends, in request order.
enum Out {
    Reply(RequestContext, Reply),
    /// A size-prefixed SASL token outside Kafka's framing (after SaslHandshake v0).
    Token(Bytes),
}

/// Writes the pieces in order, several per call where the writer takes vectored writes.
async fn write_all_parts<W: AsyncWrite + Unpin>(wr: &mut W, parts: &[&[u8]]) -> std::io::Result<()> {
    if let [one] = parts {
        return wr.write_all(one).await;
    }
    let mut slices: Vec<std::io::IoSlice<'_>> = parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
    let mut left = &mut slices[..];
    while !left.is_empty() {
        // Bounded per call: the kernel takes at most IOV_MAX (1024) slices.
        let take = left.len().min(64);
        let n = wr.write_vectored(&left[..take]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        std::io::IoSlice::advance_slices(&mut left, n);
    }
    Ok(())
}

async fn write_loop<W: AsyncWrite + Unpin>(
    wr: W,
    mut rx: mpsc::Receiver<Out>,
    pending: Arc<AtomicUsize>,
) -> Result<(), ConnectionError> {
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut buf = BytesMut::new();
    while let Some(out) = rx.recv().await {
        let done = Written(&pending);
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
        // The record batches of a fetch are not copied into the encoding: they go out from
        // the buffers they were read into, between the encoded parts, in vectored writes.
        let mut out = SplicedBuf::new(std::mem::take(&mut buf));
        out.put_i32(0);
        dispatch::encode_response(&ctx, &response, &mut out)?;
        // Sizes are capped upstream (fetch.max.bytes, deduplicated partitions); should a
        // response still outgrow the i32 length prefix, close rather than send a wrapped length.
        let body = out.total_len() - 4;
        let len = i32::try_from(body)
            .map_err(|_| ConnectionError::Encode(format!("a {body}-byte response does not fit a Kafka frame")))?;
        out.copied_mut()[0..4].copy_from_slice(&len.to_be_bytes());
        if let Err(e) = write_all_parts(&mut wr, &out.parts()).await {
            return if is_reset(&e) { Ok(()) } else { Err(e.into()) };
        }
        buf = out.into_buf();
        drop(done);
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

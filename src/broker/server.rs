//! TCP accept loop and per-connection tasks: length-prefixed frames in, responses out in
//! request order.
//!
//! Each connection has a reader that decodes requests and runs their handlers in arrival order
//! (so appends keep producer order), and a writer that awaits each reply in turn and writes it.
//! Replies that must wait (acks=all durability, a long-polling fetch, a parked group join) do
//! so in the writer, which lets a producer keep several requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::broker::dispatch::{self, Reply};
use crate::broker::error::ConnectionError;
use crate::broker::Broker;

/// How long in-flight requests may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Replies queued per connection before the reader stops reading (backpressure).
const MAX_IN_FLIGHT: usize = 64;

pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let b = Arc::clone(&broker);
                    let sd = shutdown.clone();
                    conns.spawn(async move {
                        match connection(stream, peer, b, sd).await {
                            Ok(()) => tracing::debug!(%peer, "connection closed"),
                            Err(e) => tracing::warn!(%peer, reason = %e, "closing connection"),
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
    drop(listener);
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
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnectionError> {
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let (tx, rx) = mpsc::channel::<(RequestContext, Reply)>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_loop(wr, rx));
    let max = broker.max_frame_bytes();
    let host = peer.ip().to_string();
    let result = loop {
        let size = tokio::select! {
            r = rd.read_i32() => match r {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
                Err(e) if is_reset(&e) => break Ok(()),
                Err(e) => break Err(e.into()),
            },
            _ = shutdown.changed() => break Ok(()),
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
        match dispatch::handle_frame(&broker, frame.freeze(), &host).await {
            Ok((ctx, reply)) => {
                if let Reply::Close(reason) = reply {
                    break Err(reason);
                }
                if tx.send((ctx, reply)).await.is_err() {
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

async fn write_loop(
    wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<(RequestContext, Reply)>,
) -> Result<(), ConnectionError> {
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut buf = BytesMut::new();
    while let Some((ctx, reply)) = rx.recv().await {
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
    Ok(())
}

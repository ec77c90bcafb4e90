//! A Kafka-aware TCP proxy for console tests and benchmarks: it counts the requests a client
//! sends, by API key, and can stall chosen API keys the way a hung broker does.
//!
//! The broker runs on 127.0.0.1:P with `advertised.host = "127.0.0.2"`, so every address a
//! client learns from Metadata or FindCoordinator is 127.0.0.2:P, where this proxy listens:
//! every connection a client opens (bootstrap, per broker, coordinator, the console's raw
//! DescribeLogDirs socket) passes through it without rewriting a byte.
//!
//! Stalling API key K: when a request with key K arrives on a connection, it is not forwarded
//! and neither is anything after it on that connection, while the connection stays open, and
//! the answers to earlier requests still come back. That is what a broker stuck on one request
//! looks like to a client (Kafka answers a connection's requests in order), until the client
//! gives up on the request and closes the connection.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The broker config line that makes clients reach the broker through a [`Proxy`].
pub const ADVERTISE_PROXY: &str = "\"advertised.host\" = \"127.0.0.2\"\n";

#[derive(Default)]
struct Shared {
    /// Requests seen per (client id, API key), stalled ones included.
    counts: Mutex<BTreeMap<(String, i16), u64>>,
    stalled: Mutex<HashSet<i16>>,
    stop: AtomicBool,
}

pub struct Proxy {
    /// `127.0.0.2:P`: what clients bootstrap from.
    pub addr: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Proxies `127.0.0.2:P` to `broker` (`127.0.0.1:P`). Panics when that address is taken.
    pub fn start(broker: &str) -> Proxy {
        let port = broker.rsplit_once(':').map(|(_, p)| p).expect("broker host:port");
        let listener = TcpListener::bind(format!("127.0.0.2:{port}")).expect("bind the proxy on 127.0.0.2");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let shared = Arc::new(Shared::default());
        let (s, target) = (Arc::clone(&shared), broker.to_string());
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(&target) else {
                            continue;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        spawn_pair(client, server, Arc::clone(&s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { addr, shared }
    }

    /// Holds every request with `api_key` (and what follows on its connection) from now on.
    pub fn stall(&self, api_key: i16) {
        self.shared.stalled.lock().unwrap().insert(api_key);
    }

    pub fn unstall_all(&self) {
        self.shared.stalled.lock().unwrap().clear();
    }

    /// Requests seen so far from clients whose id starts with `client_prefix`, by API key.
    pub fn counts(&self, client_prefix: &str) -> BTreeMap<i16, u64> {
        let mut out = BTreeMap::new();
        for ((client, key), n) in self.shared.counts.lock().unwrap().iter() {
            if client.starts_with(client_prefix) {
                *out.entry(*key).or_default() += n;
            }
        }
        out
    }

    pub fn reset_counts(&self) {
        self.shared.counts.lock().unwrap().clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_pair(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || requests(client, server, shared));
    std::thread::spawn(move || {
        let (mut from, mut to) = (server2, client2);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Client to broker, frame by frame: count, and forward unless stalled.
fn requests(mut from: TcpStream, mut to: TcpStream, shared: Arc<Shared>) {
    let mut held = false;
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).is_err() {
            break;
        }
        let n = i32::from_be_bytes(len);
        if !(4..=(100 << 20)).contains(&n) {
            break;
        }
        let mut body = vec![0u8; n as usize];
        if from.read_exact(&mut body).is_err() {
            break;
        }
        let key = i16::from_be_bytes([body[0], body[1]]);
        *shared
            .counts
            .lock()
            .unwrap()
            .entry((client_id(&body), key))
            .or_default() += 1;
        held = held || shared.stalled.lock().unwrap().contains(&key);
        if held {
            continue;
        }
        if to.write_all(&len).and_then(|_| to.write_all(&body)).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// The client id of a request (header v1+: after key, version and correlation id, an int16
/// length and the bytes); empty when absent or unreadable.
fn client_id(body: &[u8]) -> String {
    let Some(len) = body.get(8..10).map(|b| i16::from_be_bytes([b[0], b[1]])) else {
        return String::new();
    };
    let len = usize::try_from(len).unwrap_or(0);
    body.get(10..10 + len)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Kafka's names for the API keys a console sends, for reports.
pub fn api_name(key: i16) -> String {
    let name = match key {
        0 => "Produce",
        2 => "ListOffsets",
        3 => "Metadata",
        8 => "OffsetCommit",
        9 => "OffsetFetch",
        10 => "FindCoordinator",
        15 => "DescribeGroups",
        16 => "ListGroups",
        18 => "ApiVersions",
        32 => "DescribeConfigs",
        35 => "DescribeLogDirs",
        44 => "IncrementalAlterConfigs",
        60 => "DescribeCluster",
        _ => return format!("API key {key}"),
    };
    name.to_string()
}

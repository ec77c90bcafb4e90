//! The bundled broker: a durable single-node broker that speaks the Kafka wire protocol.
//!
//! `run` takes the options of `strom broker`, locks the data directory, recovers the logs,
//! binds, prints `listening on ADDR`, serves until shutdown, then flushes and marks a clean
//! shutdown. Nothing in here depends on the console (`cluster`, `app`, `ui`).

pub mod budget;
pub mod catalog;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod group;
pub mod groups;
pub mod handlers;
pub mod lock;
pub mod log;
pub mod partition;
pub mod producers;
pub mod security;
pub mod server;
pub mod storage;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use catalog::Catalog;
use config::BrokerConfig;
use error::BrokerError;
use storage::Disk;

/// Marker written after a clean shutdown; its absence at start means the logs' tails must be
/// verified.
const CLEAN_SHUTDOWN_FILE: &str = ".clean_shutdown";
const META_FILE: &str = "meta.properties";
/// The broker's leader epoch (a decimal number), bumped and fsynced at every start after an
/// unclean stop, before anything is served.
const LEADER_EPOCH_FILE: &str = "leader-epoch";

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Options of `strom broker`.
#[derive(Clone)]
pub struct BrokerOptions {
    /// Checked and prepared by [`security::plan`].
    pub listeners: Vec<security::PlannedListener>,
    pub data_dir: PathBuf,
    pub config: BrokerConfig,
}

/// A listener once bound: what `listening on` prints, and what the lock file records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundListener {
    pub protocol: security::SecurityProtocol,
    pub local: SocketAddr,
}

impl std::fmt::Display for BoundListener {
    /// A PLAINTEXT listener prints as a bare `HOST:PORT` (what the console and scripts have
    /// always parsed); the others carry their protocol, `SASL_SSL://HOST:PORT`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.protocol {
            security::SecurityProtocol::Plaintext => write!(f, "{}", self.local),
            p => write!(f, "{p}://{}", self.local),
        }
    }
}

/// Where clients reach one listener: the address Metadata, FindCoordinator and
/// DescribeCluster give to a client that connected through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub protocol: security::SecurityProtocol,
    pub host: String,
    pub port: u16,
}

/// Everything the handlers share.
pub struct Broker {
    pub node_id: i32,
    /// One per listener, in `--listen` order; `RequestContext::listener` indexes it.
    pub endpoints: Vec<Endpoint>,
    pub security: Arc<security::Security>,
    pub cluster_id: String,
    /// The leader epoch of every partition: stamped on new batches, reported in Metadata,
    /// ListOffsets and OffsetForLeaderEpoch, checked in Fetch.
    pub leader_epoch: i32,
    pub config: BrokerConfig,
    pub data_dir: PathBuf,
    /// Where every log, the catalog, the offsets store and the producer ids live.
    pub disk: Disk,
    pub catalog: Catalog,
    /// InitProducerId's allocator; held only for an allocation.
    pub producer_ids: std::sync::Mutex<producers::ProducerIds>,
    pub groups: Arc<groups::GroupService>,
    /// The one check every partition creation passes first.
    pub partition_budget: budget::PartitionBudget,
    pub shutdown: watch::Receiver<bool>,
}

impl Broker {
    pub fn max_frame_bytes(&self) -> usize {
        self.config.get_i64("socket.request.max.bytes").max(1024) as usize
    }

    /// Opens the data directory on `disk` (blocking): recovers every log (verifying the tails
    /// after an unclean stop and making the recovered state durable before anything is
    /// served), the catalog, the producer ids, the offsets store and the users file.
    /// `endpoints` are what Metadata advertises, one per listener. The caller runs the group
    /// timers (`groups.run`) and serves.
    pub fn open(
        opts: &BrokerOptions,
        disk: Disk,
        endpoints: Vec<Endpoint>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Broker, BrokerError> {
        let dir = opts.data_dir.clone();
        let io_err = |path: &Path, source| BrokerError::Io {
            path: path.to_path_buf(),
            source,
        };
        storage::create_dir_durably(&*disk, &dir).map_err(|e| io_err(&dir, e))?;
        let existed = disk.exists(&dir.join(META_FILE));
        let cluster_id = load_or_create_cluster_id(&*disk, &dir)?;
        let clean_marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let unclean = !disk.exists(&clean_marker);
        if unclean {
            tracing::info!(dir = %dir.display(), "no clean-shutdown marker: verifying log tails");
        }
        let catalog = Catalog::open(Arc::clone(&disk), &dir, &opts.config, unclean, now_ms())?;
        let producer_ids = producers::ProducerIds::open(Arc::clone(&disk), &dir)?;
        // After an unclean stop the logs may have lost a tail that clients read: a new leader
        // epoch lets them notice (OffsetForLeaderEpoch ends their epoch where the log now
        // ends). It is durable before any batch carries it.
        let epoch_path = dir.join(LEADER_EPOCH_FILE);
        let stored_epoch = disk
            .read(&epoch_path)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.trim().parse::<i32>().ok())
            .unwrap_or(0);
        let mut leader_epoch = stored_epoch.max(catalog.latest_epoch());
        if unclean && existed {
            leader_epoch += 1;
        }
        if leader_epoch != stored_epoch || !disk.exists(&epoch_path) {
            storage::write_atomically(&*disk, &epoch_path, format!("{leader_epoch}\n").as_bytes())
                .map_err(|e| io_err(&epoch_path, e))?;
        }
        if unclean && existed {
            tracing::info!(leader_epoch, "leader epoch bumped after an unclean stop");
        }
        catalog.set_leader_epoch(leader_epoch);
        // From here on, writes happen: a crash must trigger recovery next time.
        if !unclean {
            disk.remove_file(&clean_marker).map_err(|e| io_err(&clean_marker, e))?;
            disk.sync_dir(&dir).map_err(|e| io_err(&dir, e))?;
        }
        let groups = groups::GroupService::open(Arc::clone(&disk), &dir, &opts.config, |t| catalog.get(t).is_some())?;
        // The users file is read straight from the file system, not through `disk`: it is
        // written by `strom broker add-user`, never by the broker.
        let users = security::users::UserStore::open(&dir).map_err(security::SecurityError::from)?;
        let security = Arc::new(security::Security::new(users, &opts.config)?);
        if opts.listeners.iter().any(|l| l.spec.protocol.sasl()) && security.users.current().is_empty() {
            tracing::warn!(
                dir = %dir.display(),
                "no users yet: SASL clients cannot authenticate until one is added with `strom broker add-user NAME --data-dir DIR`"
            );
        }
        Ok(Broker {
            node_id: opts.config.get_i64("node.id") as i32,
            endpoints,
            security,
            cluster_id,
            leader_epoch,
            config: opts.config.clone(),
            data_dir: dir,
            disk,
            catalog,
            producer_ids: std::sync::Mutex::new(producer_ids),
            groups: Arc::new(groups),
            partition_budget: budget::PartitionBudget::default(),
            shutdown,
        })
    }

    /// After the last connection is gone (blocking): flushes every log and, if all of that
    /// worked, leaves the clean-shutdown marker. The offsets store is flushed by the group
    /// timers as they stop.
    pub fn close(&self) -> Result<(), BrokerError> {
        let mut failed = false;
        for topic in self.catalog.all() {
            for p in &topic.partitions {
                if let Err(e) = p.log().close() {
                    tracing::error!(error = %e, "flush at shutdown failed");
                    failed = true;
                }
            }
        }
        if !failed {
            let marker = self.data_dir.join(CLEAN_SHUTDOWN_FILE);
            storage::write_atomically(&*self.disk, &marker, b"").map_err(|e| BrokerError::Io {
                path: marker,
                source: e,
            })?;
        }
        Ok(())
    }

    /// The advertised endpoint of listener `index` (the first one if out of range).
    pub fn endpoint(&self, index: usize) -> &Endpoint {
        &self.endpoints[index.min(self.endpoints.len().saturating_sub(1))]
    }
}

/// The broker's identity, as Kafka keeps it in `meta.properties`.
fn load_or_create_cluster_id(disk: &dyn storage::Storage, dir: &Path) -> Result<String, BrokerError> {
    let path = dir.join(META_FILE);
    if let Ok(text) = disk.read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()) {
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("cluster.id=")) {
            return Ok(id.trim().to_string());
        }
    }
    // Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
    let id = base64_url(uuid::Uuid::new_v4().as_bytes());
    storage::write_atomically(disk, &path, format!("version=1\ncluster.id={id}\n").as_bytes())
        .map_err(|e| BrokerError::Io { path, source: e })?;
    Ok(id)
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Runs the broker until SIGINT/SIGTERM. `on_ready` gets the bound listeners, in `--listen`
/// order.
pub async fn run(opts: BrokerOptions, on_ready: impl FnOnce(&[BoundListener])) -> Result<(), BrokerError> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = tx.send(true);
    });
    run_until(opts, rx, on_ready).await
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the process still dies on the default action.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

/// Runs the broker until `shutdown` turns true.
pub async fn run_until(
    opts: BrokerOptions,
    shutdown: watch::Receiver<bool>,
    on_ready: impl FnOnce(&[BoundListener]),
) -> Result<(), BrokerError> {
    let dir = opts.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| BrokerError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let lock = lock::DataDirLock::acquire(&dir)?;
    budget::raise_fd_limit();
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for (index, planned) in opts.listeners.iter().enumerate() {
        let name = planned.spec.to_string();
        let tcp = TcpListener::bind(&planned.addrs[..])
            .await
            .map_err(|e| BrokerError::Listen {
                addr: name.clone(),
                source: e,
            })?;
        let local = tcp
            .local_addr()
            .map_err(|e| BrokerError::Listen { addr: name, source: e })?;
        let protocol = planned.spec.protocol;
        if protocol == security::SecurityProtocol::SaslPlaintext
            && !local.ip().is_loopback()
            && opts.config.get("sasl.enabled.mechanisms").0.contains("PLAIN")
        {
            tracing::warn!(listener = %planned.spec, "SASL/PLAIN on a SASL_PLAINTEXT listener sends passwords unencrypted; prefer SASL_SSL or SCRAM");
        }
        bound.push(BoundListener { protocol, local });
        listeners.push(server::Listener {
            index,
            protocol,
            tcp,
            tls: planned.tls.clone(),
        });
    }
    // advertised.listeners (entry i for listener i) over advertised.host over the bound address.
    let advertised = opts.config.get("advertised.host").0;
    let listed = config::parse_advertised_listeners(&opts.config.get("advertised.listeners").0).unwrap_or_default();
    let endpoints = bound
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (host, port) = match listed.get(i) {
                Some((host, port)) => (host.clone(), *port),
                None if !advertised.is_empty() => (advertised.clone(), b.local.port()),
                None => (b.local.ip().to_string(), b.local.port()),
            };
            if host == "0.0.0.0" || host == "::" {
                tracing::warn!(listener = %b, "listening on all addresses with nothing advertised: clients are told {host}; set --advertise HOST:PORT or advertised.listeners");
            }
            Endpoint {
                protocol: b.protocol,
                host,
                port,
            }
        })
        .collect();
    let disk = storage::OsDisk::shared();
    let broker = {
        let (opts, disk, shutdown) = (opts.clone(), Arc::clone(&disk), shutdown.clone());
        storage::blocking(&disk.clone(), move || Broker::open(&opts, disk, endpoints, shutdown)).await?
    };
    let broker = Arc::new(broker);
    lock.record_address(&bound[0].to_string());

    let cleaner = tokio::spawn(retention_loop(Arc::clone(&broker), shutdown.clone()));
    let group_timers = tokio::spawn(Arc::clone(&broker.groups).run(shutdown.clone()));
    on_ready(&bound);
    server::serve(listeners, Arc::clone(&broker), shutdown).await;
    cleaner.abort();
    // The group timers stop on the shutdown signal and fail parked joins; wait for the final
    // offsets fsync.
    let _ = group_timers.await;

    // Connections are gone: flush every log and leave the marker.
    let closing = Arc::clone(&broker);
    storage::blocking(&disk, move || closing.close()).await?;
    drop(lock);
    tracing::info!("broker stopped");
    Ok(())
}

/// The retention cleaner: every `log.retention.check.interval.ms`, deletes expired segments
/// and rolls segments past `segment.ms`.
async fn retention_loop(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(broker.config.get_i64("log.retention.check.interval.ms").max(10) as u64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let b = Arc::clone(&broker);
        storage::blocking(&broker.disk, move || {
            let now = now_ms();
            for topic in b.catalog.all() {
                for p in topic.partitions.iter().filter(|p| p.log().is_online()) {
                    match p.apply_retention(now) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(topic = %topic.name, partition = p.index, segments = n, start = p.log().log_start_offset(), "retention deleted segments"),
                        Err(e) => tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "retention failed"),
                    }
                }
            }
        })
        .await;
    }
}

//! Shared test harness: a real `strom broker` child process on an ephemeral loopback port.
#![allow(dead_code)]

pub mod proxy;
pub mod scripts;
pub mod tls;
pub mod wire;
pub mod witness;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct BrokerProcess {
    pub child: Child,
    /// The first listener's address, as its `listening on` line gives it.
    pub addr: String,
    /// Every `listening on` line, in `--listen` order: `HOST:PORT` for PLAINTEXT,
    /// `PROTOCOL://HOST:PORT` for the others.
    pub listeners: Vec<String>,
    pub data_dir: PathBuf,
    config: Option<PathBuf>,
    /// The arguments after `broker` other than --data-dir and --config: `--listen 127.0.0.1:0`
    /// unless started with [`BrokerProcess::start_on`] or [`BrokerProcess::start_with`].
    args: Vec<String>,
    /// How many `listening on` lines to wait for.
    expected_listeners: usize,
    /// Extra environment of the broker process.
    env: Vec<(String, String)>,
}

pub fn strom_bin() -> &'static str {
    env!("CARGO_BIN_EXE_strom")
}

impl BrokerProcess {
    /// Starts a broker on 127.0.0.1:0 with `data_dir`, optionally with a broker.toml body.
    pub fn start(data_dir: &Path, config_toml: Option<&str>) -> BrokerProcess {
        Self::start_on(data_dir, config_toml, "127.0.0.1:0")
    }

    /// Starts a broker listening on `listen`; [`restart`](Self::restart) reuses that address,
    /// so a client can keep running across restarts. Get a free port from [`free_port`].
    pub fn start_on(data_dir: &Path, config_toml: Option<&str>, listen: &str) -> BrokerProcess {
        Self::start_with(data_dir, config_toml, &["--listen", listen], 1)
    }

    /// Starts a broker with `args` after `broker` (listeners, TLS flags...) and waits for
    /// `listeners` lines of `listening on`.
    pub fn start_with(data_dir: &Path, config_toml: Option<&str>, args: &[&str], listeners: usize) -> BrokerProcess {
        Self::start_with_env(data_dir, config_toml, args, listeners, &[])
    }

    /// [`start_with`](Self::start_with) with extra environment variables (e.g. `STROM_LOG`).
    pub fn start_with_env(
        data_dir: &Path,
        config_toml: Option<&str>,
        args: &[&str],
        listeners: usize,
        env: &[(&str, &str)],
    ) -> BrokerProcess {
        let config = config_toml.map(|body| {
            let path = data_dir.with_extension("broker.toml");
            std::fs::write(&path, body).expect("write broker config");
            path
        });
        let args = args.iter().map(|a| a.to_string()).collect();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::spawn(data_dir, config, args, listeners, env)
    }

    fn spawn(
        data_dir: &Path,
        config: Option<PathBuf>,
        args: Vec<String>,
        expected_listeners: usize,
        env: Vec<(String, String)>,
    ) -> BrokerProcess {
        let mut cmd = Command::new(strom_bin());
        cmd.arg("broker").args(&args).arg("--data-dir").arg(data_dir);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        if let Some(c) = &config {
            cmd.arg("--config").arg(c);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data_dir.with_extension("log"))
            .expect("broker log file");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn strom broker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Forward every line and keep draining, so the child never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut listeners = Vec::new();
        while listeners.len() < expected_listeners {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "broker did not print {expected_listeners} 'listening on' lines within 30 s; see {}",
                    data_dir.with_extension("log").display()
                )
            });
            let addr = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
                .to_string();
            listeners.push(addr);
        }
        BrokerProcess {
            child,
            addr: listeners[0].clone(),
            listeners,
            data_dir: data_dir.to_path_buf(),
            config,
            args,
            expected_listeners,
            env,
        }
    }

    /// Same data dir and config, new process (a new port, unless started with `start_on`).
    pub fn restart(mut self) -> BrokerProcess {
        let _ = self.child.wait();
        let data_dir = self.data_dir.clone();
        let config = self.config.take();
        let args = std::mem::take(&mut self.args);
        let expected = self.expected_listeners;
        let env = std::mem::take(&mut self.env);
        std::mem::forget(self);
        Self::spawn(&data_dir, config, args, expected, env)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (bounded) for a clean exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        unsafe_signal(self.child.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }
}

fn unsafe_signal(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address whose port was free a moment ago (bound, read, released), for brokers
/// that must come back on the same address after a restart.
pub fn free_port() -> String {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    probe.local_addr().expect("probe address").to_string()
}

/// Polls `f` until it returns Some, at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

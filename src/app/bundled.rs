//! The bundled broker as the console's child process: reuse a running one (its data-dir lock
//! names pid and address), or start `strom broker` from this same executable on 127.0.0.1:9092
//! (an ephemeral port if that is taken), wait for `listening on`, and stop it on quit.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::broker::lock::DataDirLock;

/// The pid of the broker child this console started and has not stopped yet (0: none), for
/// [`stop_after_panic`].
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Stops the broker child this console started, from a panic hook: SIGTERM (a clean broker
/// shutdown), then wait for it, at most 10 s. Nothing else of the console is relied on.
pub fn stop_after_panic() {
    let pid = CHILD.swap(0, Ordering::SeqCst);
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) and waitpid(2) on our own child's pid; no memory is shared.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut status = 0;
        // SAFETY: as above; WNOHANG never blocks.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

pub struct Bundled {
    pub address: String,
    /// The child this console started; None when an already running broker is reused.
    pub child: Option<Child>,
    /// The data dir was new: a first run, which gets the demo workload.
    pub first_run: bool,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BundledError {
    #[error("cannot start the bundled broker ({exe}): {source}")]
    Spawn { exe: String, source: std::io::Error },
    #[error("the bundled broker did not start within {secs} s; see {log}")]
    NotReady { secs: u64, log: String },
    #[error("the bundled broker exited during start-up ({status}); see {log}")]
    Exited { status: String, log: String },
}

fn port_free(addr: &str) -> bool {
    std::net::TcpListener::bind(addr).is_ok()
}

/// The address of a bundled broker running on `data_dir` (its lock file names it), if any.
pub fn running(data_dir: &Path) -> Option<String> {
    DataDirLock::owner(data_dir)?.address
}

/// Starts or reuses the bundled broker with data in `data_dir`, logging to `log`.
pub fn ensure(data_dir: &Path, log: &Path) -> Result<Bundled, BundledError> {
    if let Some(owner) = DataDirLock::owner(data_dir) {
        if let Some(address) = owner.address {
            tracing::info!(pid = %owner.pid, %address, "reusing the running bundled broker");
            return Ok(Bundled {
                address,
                child: None,
                first_run: false,
                data_dir: data_dir.to_path_buf(),
            });
        }
    }
    let first_run = !data_dir.join("catalog.toml").exists();
    let listen = if port_free("127.0.0.1:9092") {
        "127.0.0.1:9092"
    } else {
        "127.0.0.1:0"
    };
    match start(data_dir, log, listen, first_run) {
        // 9092 looked free but another process took it first (two consoles starting at once):
        // fall back to an ephemeral port rather than fail.
        Err(BundledError::Exited { .. }) if listen != "127.0.0.1:0" => {
            tracing::info!("127.0.0.1:9092 was taken during start-up; retrying on an ephemeral port");
            start(data_dir, log, "127.0.0.1:0", first_run)
        }
        other => other,
    }
}

fn start(data_dir: &Path, log: &Path, listen: &str, first_run: bool) -> Result<Bundled, BundledError> {
    let exe = std::env::current_exe().map_err(|e| BundledError::Spawn {
        exe: "strom".into(),
        source: e,
    })?;
    let _ = std::fs::create_dir_all(data_dir);
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| BundledError::Spawn {
            exe: log.display().to_string(),
            source: e,
        })?;
    let mut cmd = Command::new(&exe);
    cmd.args(["broker", "--listen", listen, "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file);
    // The child must not outlive us even if we are SIGKILLed: the kernel sends it SIGTERM
    // (a graceful broker shutdown) when this process dies. And it gets its own process group,
    // so the terminal's signals (SIGHUP when an SSH session drops) reach only the console,
    // which then stops the broker gracefully instead of the broker dying mid-write.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            // SAFETY: prctl and setpgid are async-signal-safe.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 || libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| BundledError::Spawn {
        exe: exe.display().to_string(),
        source: e,
    })?;
    let stdout = child.stdout.take().ok_or_else(|| BundledError::Spawn {
        exe: exe.display().to_string(),
        source: std::io::Error::other("no stdout pipe"),
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let wait = Duration::from_secs(30);
    let deadline = Instant::now() + wait;
    let log_name = log.display().to_string();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if let Some(address) = line.strip_prefix("listening on ") {
                    CHILD.store(child.id() as i32, Ordering::SeqCst);
                    return Ok(Bundled {
                        address: address.trim().to_string(),
                        child: Some(child),
                        first_run,
                        data_dir: data_dir.to_path_buf(),
                    });
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BundledError::Exited {
                status: status.to_string(),
                log: log_name,
            });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BundledError::NotReady {
                secs: wait.as_secs(),
                log: log_name,
            });
        }
    }
}

impl Bundled {
    /// Stops the child this console started: SIGTERM, then wait (bounded), then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        CHILD.store(0, Ordering::SeqCst);
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!("bundled broker did not stop within 10 s; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Bundled {
    fn drop(&mut self) {
        self.stop();
    }
}

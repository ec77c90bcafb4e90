//! End-to-end: the built `strom` binary in a real terminal (tmux). Each test runs its own tmux
//! server (`tmux -L <unique socket>`) with fresh XDG data/config/state dirs, drives the console
//! with `send-keys` and reads it back with `capture-pane`, polling with a deadline. A failing
//! check panics with the last screen it saw and the tail of strom's logs.
//!
//! The bundled broker may land on 127.0.0.1:9092 or, when that is taken, an ephemeral port;
//! nothing here depends on which.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(200);
const WIDTH: &str = "100";
const HEIGHT: &str = "30";
const DEMO_TOPICS: [&str; 4] = ["device-heartbeat", "device-event", "inventory", "parties"];
const DEMO_GROUPS: [&str; 3] = ["heartbeat-monitor", "event-archiver", "inventory-sync"];

/// Held while a console starts a bundled broker. `strom` checks whether 127.0.0.1:9092 is free
/// and then lets its child bind it, so two consoles starting at the same instant (two tests of
/// this binary in parallel) can both pick 9092 and one of them fails; see `bundled::ensure`.
static BROKER_STARTUP: Mutex<()> = Mutex::new(());

fn startup_lock() -> std::sync::MutexGuard<'static, ()> {
    BROKER_STARTUP.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One tmux server and one set of XDG dirs. Dropping it kills the server (which hangs up on
/// every console in it) and waits, bounded, for their brokers to stop before the dirs go.
struct Term {
    socket: String,
    dirs: tempfile::TempDir,
}

impl Term {
    fn new(test: &str) -> Term {
        let dirs = tempfile::Builder::new()
            .prefix("strom-e2e-")
            .tempdir()
            .expect("temp dir");
        for sub in ["data", "config", "state"] {
            std::fs::create_dir_all(dirs.path().join(sub)).expect("create XDG dir");
        }
        Term {
            socket: format!("strom-e2e-{}-{test}", std::process::id()),
            dirs,
        }
    }

    fn data_home(&self) -> PathBuf {
        self.dirs.path().join("data")
    }

    /// The bundled broker's data dir for these XDG dirs, as strom passes it to `strom broker`.
    fn broker_dir(&self) -> PathBuf {
        self.data_home().join("strom").join("broker")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run tmux ({e}); install it with `apt-get install tmux` or `bash .ci/run`")
            })
    }

    /// Opens a session running `strom ARGS` in a shell that, once strom exits, prints
    /// `STROM-EXITED <status>` and stays (bounded) so the pane can still be read.
    fn start(&self, session: &str, strom_args: &[&str]) {
        self.start_with_env(session, "", strom_args)
    }

    /// `start` with extra `NAME=value ` assignments before the command.
    fn start_with_env(&self, session: &str, env: &str, strom_args: &[&str]) {
        self.start_with(session, env, strom_args, "")
    }

    /// `start_with_env` with shell redirections after the command (`</dev/null >out`).
    fn start_with(&self, session: &str, env: &str, strom_args: &[&str], redirect: &str) {
        let mut strom = format!("{env}{}", quote(env!("CARGO_BIN_EXE_strom")));
        for a in strom_args {
            strom.push(' ');
            strom.push_str(&quote(a));
        }
        strom.push_str(redirect);
        let d = self.dirs.path();
        let script = format!(
            "XDG_DATA_HOME={} XDG_CONFIG_HOME={} XDG_STATE_HOME={} {strom}; echo STROM-EXITED $?; \
             echo TTY-MODE $(stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$'); exec sleep 600",
            quote(&d.join("data").display().to_string()),
            quote(&d.join("config").display().to_string()),
            quote(&d.join("state").display().to_string()),
        );
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            WIDTH,
            "-y",
            HEIGHT,
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn screen(&self, session: &str) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(
            out.status.success(),
            "tmux send-keys {keys:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Whether the pane is on the alternate screen (a full-screen app is still up).
    fn alternate_screen(&self, session: &str) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", session, "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Polls the screen until `ok` holds; panics after `timeout` with the last screen.
    fn wait_for(&self, session: &str, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen(session);
            if ok(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("after {timeout:?}, expected {what}"), &screen);
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_for_text(&self, session: &str, text: &str, timeout: Duration) -> String {
        self.wait_for(session, &format!("{text:?} on screen"), timeout, |s| s.contains(text))
    }

    fn fail(&self, what: &str, screen: &str) -> ! {
        let state = self.dirs.path().join("state").join("strom");
        panic!(
            "{what}\n--- last screen ---\n{screen}\n--- strom.log (tail) ---\n{}\n--- broker.log (tail) ---\n{}",
            tail(&state.join("strom.log"), 15),
            tail(&state.join("broker.log"), 15),
        );
    }

    /// Quits with `q` and checks that strom exited 0 and left the alternate screen.
    fn quit(&self, session: &str) {
        self.keys(session, &["q"]);
        let screen = self.wait_for_text(session, "STROM-EXITED", Duration::from_secs(20));
        if !screen.contains("STROM-EXITED 0") {
            self.fail("strom did not exit with status 0", &screen);
        }
        if self.alternate_screen(session) {
            self.fail("the pane is still on the alternate screen after strom exited", &screen);
        }
        assert_no_panic(self, &screen);
    }

    /// Pids of `strom broker` processes using this test's data dir.
    fn brokers(&self) -> Vec<u32> {
        broker_pids(&self.broker_dir())
    }

    /// Waits (bounded) until `n` brokers use this test's data dir.
    fn wait_for_brokers(&self, n: usize, timeout: Duration, session: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let pids = self.brokers();
            if pids.len() == n {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(
                    &format!(
                        "expected {n} `strom broker` process(es) for {}, found pids {pids:?}",
                        self.broker_dir().display()
                    ),
                    &self.screen(session),
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        // The hung-up consoles stop their brokers; do not pull the data dir from under them.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.brokers().is_empty() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// Processes whose argv is `... broker ... --data-dir DIR ...`, read from /proc.
fn broker_pids(data_dir: &Path) -> Vec<u32> {
    let dir = data_dir.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_broker = args.iter().any(|a| *a == b"broker");
        let on_dir = args.windows(2).any(|w| w[0] == b"--data-dir" && w[1] == dir);
        if is_broker && on_dir {
            pids.push(pid);
        }
    }
    pids
}

fn assert_no_panic(term: &Term, screen: &str) {
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        if screen.contains(bad) {
            term.fail(&format!("the screen shows {bad:?}"), screen);
        }
    }
}

/// The address in the header line ` strom │ bundled │ ADDR │ …`.
fn header_address(screen: &str) -> Option<String> {
    let header = screen.lines().next()?;
    let mut fields = header.split('│').map(str::trim);
    (fields.next()? == "strom" && fields.next()? == "bundled").then_some(())?;
    fields.next().filter(|a| a.contains(':')).map(str::to_string)
}

/// The name in the selected row (`│> name …`) of a table.
fn selected_row_name(screen: &str) -> Option<String> {
    screen
        .lines()
        .find_map(|l| l.trim_start_matches('│').strip_prefix("> "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

fn lists_all(screen: &str, names: &[&str]) -> bool {
    names.iter().all(|n| screen.contains(n))
}

#[test]
fn console_starts_on_bundled_broker_with_demo_topics_and_quits_cleanly() {
    let term = Term::new("bundled");
    let s = "main";
    {
        let _startup = startup_lock();
        term.start(s, &[]);
        // Fresh data dir: strom starts its broker and the demo workload; the topics appear
        // within 10 s.
        term.wait_for(
            s,
            "the four demo topics in the topics pane",
            Duration::from_secs(10),
            |screen| screen.contains("Topics (4)") && lists_all(screen, &DEMO_TOPICS),
        );
    }
    let screen = term.screen(s);
    if !screen.contains("● connected") || header_address(&screen).is_none() {
        term.fail("expected the header ` strom │ bundled │ ADDR │ … ● connected`", &screen);
    }
    term.wait_for_brokers(1, Duration::from_secs(2), s);

    term.keys(s, &["3"]);
    term.wait_for(
        s,
        "the brokers pane with one broker",
        Duration::from_secs(5),
        |screen| screen.contains("Brokers (1)") && screen.contains("controller"),
    );

    term.keys(s, &["1"]);
    term.wait_for_text(s, "Topics (4)", Duration::from_secs(5));
    term.keys(s, &["j"]);
    let screen = term.wait_for(
        s,
        "the selection on the second topic",
        Duration::from_secs(5),
        |screen| selected_row_name(screen).is_some_and(|n| n != "device-event"),
    );
    let topic = selected_row_name(&screen).unwrap_or_default();
    if !DEMO_TOPICS.contains(&topic.as_str()) {
        term.fail(&format!("selected row {topic:?} is not a demo topic"), &screen);
    }
    term.keys(s, &["Enter"]);
    term.wait_for(
        s,
        &format!("the partitions of {topic}"),
        Duration::from_secs(5),
        |screen| screen.contains(&format!("Partitions of {topic}")) && screen.contains("High watermark"),
    );

    // The demo's consumers join their groups a little after the topics exist.
    term.keys(s, &["4"]);
    term.wait_for(
        s,
        "the groups pane with the demo groups",
        Duration::from_secs(20),
        |screen| screen.contains("Consumer groups (") && lists_all(screen, &DEMO_GROUPS),
    );
    // The lag monitor judges every demo group once their offsets were sampled.
    term.wait_for(
        s,
        "a lag status on every demo group's row",
        Duration::from_secs(30),
        |screen| {
            DEMO_GROUPS.iter().all(|g| {
                screen
                    .lines()
                    .any(|l| l.contains(g) && [" OK ", " WARN ", " STALL ", " STOP "].iter().any(|st| l.contains(st)))
            })
        },
    );
    // Enter opens the selected group: its members and partitions; Esc goes back.
    term.keys(s, &["Enter"]);
    term.wait_for(s, "the group's detail", Duration::from_secs(10), |screen| {
        screen.contains("Members (") && screen.contains("┌ Group ") && screen.contains("Commit")
    });
    term.keys(s, &["Escape"]);
    term.wait_for(s, "the group list back", Duration::from_secs(5), |screen| {
        screen.contains("Consumer groups (") && lists_all(screen, &DEMO_GROUPS)
    });

    term.keys(s, &["?"]);
    term.wait_for(s, "the help overlay", Duration::from_secs(5), |screen| {
        screen.contains("this help") && screen.contains("quit")
    });
    term.keys(s, &["Escape"]);
    term.wait_for(
        s,
        "the help closed, the groups pane back",
        Duration::from_secs(5),
        |screen| !screen.contains("this help") && lists_all(screen, &DEMO_GROUPS),
    );

    // `t` on the selected topic tails it: the demo's heartbeats arrive, Space pauses, Enter
    // opens a record, Esc closes the record and then the tail.
    term.keys(s, &["1"]);
    term.wait_for_text(s, "Topics (4)", Duration::from_secs(5));
    term.keys(s, &["t"]);
    term.wait_for(
        s,
        &format!("records arriving in the tail of {topic}"),
        Duration::from_secs(20),
        |screen| {
            screen.contains(&format!("Tail {topic}"))
                && screen.contains("● following")
                && screen.lines().any(|l| l.starts_with("│> "))
        },
    );
    term.keys(s, &["Space"]);
    term.wait_for_text(s, "‖ paused", Duration::from_secs(10));
    term.keys(s, &["Enter"]);
    term.wait_for(s, "the record detail", Duration::from_secs(5), |screen| {
        screen.contains(&format!("Record {topic}-")) && screen.contains("Headers (") && screen.contains("Value")
    });
    term.keys(s, &["Escape"]);
    term.wait_for(
        s,
        "the record closed, the tail still open",
        Duration::from_secs(5),
        |screen| !screen.contains(&format!("Record {topic}-")) && screen.contains(&format!("Tail {topic}")),
    );
    term.keys(s, &["Escape"]);
    term.wait_for(
        s,
        "the tail closed, the topics back",
        Duration::from_secs(5),
        |screen| !screen.contains("Tail ") && lists_all(screen, &DEMO_TOPICS),
    );

    term.quit(s);
    // The console stops the broker it started.
    term.wait_for_brokers(0, Duration::from_secs(15), s);
}

#[test]
fn console_on_unreachable_cluster_shows_connection_error_and_quits() {
    let term = Term::new("unreachable");
    let s = "main";
    term.start(s, &["-b", "127.0.0.1:1"]);
    let screen = term.wait_for(
        s,
        "a \"no answer from 127.0.0.1:1\" status",
        Duration::from_secs(15),
        |screen| screen.contains("no answer from 127.0.0.1:1"),
    );
    assert_no_panic(&term, &screen);
    if !screen.contains("1 Topics") {
        term.fail("expected the console (tab bar) around the connection error", &screen);
    }
    // Keys keep working while the cluster is away.
    term.keys(s, &["3"]);
    term.wait_for_text(s, "┌ Brokers", Duration::from_secs(5));
    term.quit(s);
    // Nothing bundled was started for an explicit cluster.
    term.wait_for_brokers(0, Duration::from_secs(1), s);
}

#[test]
fn second_console_reuses_the_running_bundled_broker() {
    const FIRST: &str = "first";
    const SECOND: &str = "second";
    let term = Term::new("reuse");
    let first = {
        let _startup = startup_lock();
        term.start(FIRST, &[]);
        let screen = term.wait_for(
            FIRST,
            "the first console connected with the demo topics",
            Duration::from_secs(10),
            |screen| screen.contains("● connected") && lists_all(screen, &DEMO_TOPICS),
        );
        match header_address(&screen) {
            Some(addr) => addr,
            None => term.fail("no address in the first console's header", &screen),
        }
    };
    term.wait_for_brokers(1, Duration::from_secs(2), FIRST);

    term.start(SECOND, &[]);
    let screen = term.wait_for(
        SECOND,
        "the second console connected with the demo topics",
        Duration::from_secs(10),
        |screen| screen.contains("● connected") && lists_all(screen, &DEMO_TOPICS),
    );
    if header_address(&screen).as_deref() != Some(first.as_str()) {
        term.fail(
            &format!("the second console should show the first one's broker at {first}"),
            &screen,
        );
    }
    let pids = term.brokers();
    if pids.len() != 1 {
        term.fail(
            &format!("expected one `strom broker` for the shared data dir, found {pids:?}"),
            &screen,
        );
    }

    // The second console did not start the broker, so quitting it leaves the broker running.
    term.quit(SECOND);
    term.wait_for_brokers(1, Duration::from_secs(2), FIRST);
    term.quit(FIRST);
    term.wait_for_brokers(0, Duration::from_secs(15), FIRST);
}

#[test]
fn dropped_session_sighup_stops_the_console_and_its_broker_gracefully() {
    let term = Term::new("sighup");
    let s = "main";
    {
        let _start = startup_lock();
        term.start(s, &["--no-demo"]);
        term.wait_for_text(s, "connected", Duration::from_secs(20));
    }
    term.wait_for_brokers(1, Duration::from_secs(5), s);
    // What an SSH disconnect does: the terminal goes away and the session gets SIGHUP.
    let out = term.tmux(&["kill-session", "-t", s]);
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !term.brokers().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the bundled broker is still running 20 s after SIGHUP: {:?}",
            term.brokers()
        );
        std::thread::sleep(POLL);
    }
    // Stopped by the console with SIGTERM (a clean shutdown), not killed by the hangup.
    assert!(
        term.broker_dir().join(".clean_shutdown").exists(),
        "the broker shut down cleanly"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_stops_the_bundled_broker() {
    let term = Term::new("panic");
    let s = "main";
    {
        let _start = startup_lock();
        term.start_with_env(s, "STROM_TEST_PANIC=1 RUST_BACKTRACE=0 ", &["--no-demo"]);
        let screen = term.wait_for_text(s, "STROM-EXITED", Duration::from_secs(30));
        if screen.contains("STROM-EXITED 0") {
            term.fail("a panic must not exit 0", &screen);
        }
        if !screen.contains("STROM_TEST_PANIC is set") {
            term.fail("the panic message is printed on the restored terminal", &screen);
        }
        if term.alternate_screen(s) {
            term.fail("the pane is still on the alternate screen after the panic", &screen);
        }
    }
    // Raw mode is off again: the shell after strom sees a canonical, echoing terminal.
    let screen = term.wait_for_text(s, "TTY-MODE", Duration::from_secs(5));
    if !screen.contains("TTY-MODE icanon echo") {
        term.fail("the terminal is back in cooked mode (icanon, echo)", &screen);
    }
    term.wait_for_brokers(0, Duration::from_secs(20), s);
}

#[test]
fn a_panic_in_the_background_worker_restores_the_terminal_and_stops_the_bundled_broker() {
    let term = Term::new("worker-panic");
    let s = "main";
    {
        let _start = startup_lock();
        // The worker panics at its first answer, on a tokio thread, while the UI is drawing.
        term.start_with_env(s, "STROM_TEST_PANIC=worker RUST_BACKTRACE=0 ", &["--no-demo"]);
        let screen = term.wait_for_text(s, "STROM-EXITED", Duration::from_secs(30));
        if !screen.contains("STROM-EXITED 101") {
            term.fail("a panic in the worker exits with status 101", &screen);
        }
        if !screen.contains("STROM_TEST_PANIC=worker") || !screen.contains("strom.log") {
            term.fail("the panic message and the log's path are printed", &screen);
        }
        if term.alternate_screen(s) {
            term.fail("the pane is still on the alternate screen after the panic", &screen);
        }
    }
    let screen = term.wait_for_text(s, "TTY-MODE", Duration::from_secs(5));
    if !screen.contains("TTY-MODE icanon echo") {
        term.fail("the terminal is back in cooked mode (icanon, echo)", &screen);
    }
    // The UI stopped drawing: nothing of the console is left below the message.
    let after = screen.split("strom: internal error").nth(1).unwrap_or_default();
    if after.contains("Topics") || after.contains("connect") {
        term.fail("the UI drew after the terminal was restored", &screen);
    }
    term.wait_for_brokers(0, Duration::from_secs(20), s);
    assert!(
        term.broker_dir().join(".clean_shutdown").exists(),
        "the panic stopped the broker cleanly (SIGTERM), not by killing it"
    );
}

#[test]
fn without_a_terminal_on_stdin_and_stdout_strom_exits_2_and_starts_no_broker() {
    let term = Term::new("no-tty");
    let s = "main";
    let out = term.dirs.path().join("out");
    // In a terminal session, but `strom </dev/null >out`: the console cannot run there.
    term.start_with(
        s,
        "",
        &[],
        &format!(" </dev/null >{}", quote(&out.display().to_string())),
    );
    let screen = term.wait_for_text(s, "STROM-EXITED", Duration::from_secs(20));
    if !screen.contains("STROM-EXITED 2") {
        term.fail("strom without a terminal exits with status 2", &screen);
    }
    if !screen.contains("needs a terminal") {
        term.fail("strom says why on stderr (the pane)", &screen);
    }
    assert_eq!(
        std::fs::read(&out).map(|b| b.len()).unwrap_or(0),
        0,
        "nothing written to stdout"
    );
    assert!(term.brokers().is_empty(), "no bundled broker was started");
    assert!(!term.broker_dir().exists(), "not even its data dir");
}

/// The audit log lines of this test's console.
fn audit_lines(term: &Term) -> Vec<serde_json::Value> {
    std::fs::read_to_string(term.dirs.path().join("state/strom/audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
        .collect()
}

/// `topic:partition=offset` pairs of an audit line's `before`/`after`.
fn audit_offsets(text: &str) -> Vec<(String, i64)> {
    text.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(-1)))
        .collect()
}

/// Filters the focused table to `name` and waits for it to be the selected row.
fn select(term: &Term, s: &str, name: &str) {
    term.keys(s, &["/"]);
    term.keys(s, &["-l", name]);
    term.keys(s, &["Enter"]);
    term.wait_for(s, &format!("{name} selected"), Duration::from_secs(10), |screen| {
        selected_row_name(screen).as_deref() == Some(name)
    });
}

#[test]
fn actions_from_the_keyboard_go_form_plan_confirm_result_and_read_only_refuses_them() {
    let term = Term::new("actions");
    let s = "main";
    {
        let _startup = startup_lock();
        term.start(s, &[]);
        term.wait_for(s, "the demo topics", Duration::from_secs(10), |screen| {
            screen.contains("Topics (4)") && lists_all(screen, &DEMO_TOPICS)
        });
    }

    // Reset inventory-sync (stopped, lagging) to latest: form, plan, confirm, result.
    term.keys(s, &["4"]);
    term.wait_for(s, "inventory-sync, Empty", Duration::from_secs(20), |screen| {
        screen
            .lines()
            .any(|l| l.contains("inventory-sync") && l.contains("Empty"))
    });
    select(&term, s, "inventory-sync");
    term.wait_for(
        s,
        "the group actions in the footer",
        Duration::from_secs(10),
        |screen| screen.contains("R reset offsets") && screen.contains("U undo reset"),
    );
    term.keys(s, &["R"]);
    term.wait_for(s, "the reset form", Duration::from_secs(5), |screen| {
        screen.contains("Reset offsets: inventory-sync")
            && screen.contains("to: latest")
            && screen.contains("Enter plan")
    });
    term.keys(s, &["Enter"]);
    let plan = term.wait_for(s, "the reset plan", Duration::from_secs(15), |screen| {
        screen.contains("lag after") && screen.contains("skips") && screen.contains("apply")
    });
    // The demo's inventory-sync committed the partitions its 40 records came from (keyed, so
    // 1 to 3 of inventory's 3): the plan covers exactly those, and the result says as many.
    let planned = (1..=3)
        .find(|n| plan.contains(&format!("to the latest offsets: {n} partition")))
        .unwrap_or_else(|| term.fail("the plan names how many of inventory's partitions it resets", &plan));
    if !plan.contains("inventory") {
        term.fail("the plan names the topic", &plan);
    }
    assert!(audit_lines(&term).is_empty(), "nothing applied before the confirmation");
    term.keys(s, &["y"]);
    let committed = format!("{planned} partition");
    let done = term.wait_for(s, "the result", Duration::from_secs(15), |screen| {
        screen.contains("Done") && screen.contains(&committed) && screen.contains("committed")
    });
    if !done.contains("audit.log") {
        term.fail("the result says where it was recorded", &done);
    }
    let audit = audit_lines(&term);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["action"], "reset offsets of group 'inventory-sync'");
    assert_eq!(audit[0]["result"], "ok");
    let (before, after) = (
        audit_offsets(audit[0]["before"].as_str().unwrap()),
        audit_offsets(audit[0]["after"].as_str().unwrap()),
    );
    assert_eq!(before.len(), planned);
    for ((t, b), (t2, a)) in before.iter().zip(&after) {
        assert_eq!(t, t2);
        assert!(a > b, "{t}: the group moved from {b} to the log end {a}");
    }
    term.keys(s, &["Escape"]);
    term.wait_for(s, "the result closed", Duration::from_secs(5), |screen| {
        !screen.contains("any key closes")
    });

    // Add a partition to parties: the partitions pane shows 3.
    term.keys(s, &["1"]);
    term.wait_for_text(s, "Topics (4)", Duration::from_secs(5));
    select(&term, s, "parties");
    term.keys(s, &["+"]);
    term.wait_for(s, "the add-partitions form", Duration::from_secs(5), |screen| {
        screen.contains("Add partitions: parties") && screen.contains("partitions: 3")
    });
    term.keys(s, &["Enter"]);
    term.wait_for(s, "the add-partitions plan", Duration::from_secs(15), |screen| {
        screen.contains("(2 -> 3)") && screen.contains("per-key ordering breaks")
    });
    term.keys(s, &["y"]);
    term.wait_for_text(s, "Done", Duration::from_secs(15));
    term.keys(s, &["Escape"]);
    term.keys(s, &["2"]);
    term.wait_for(s, "3 partitions of parties", Duration::from_secs(15), |screen| {
        screen.contains("Partitions of parties (3)")
    });

    // Edit inventory's retention: the configs pane shows the override.
    term.keys(s, &["1"]);
    term.wait_for_text(s, "Topics (1/4)  /parties", Duration::from_secs(5));
    // The filter stays until Esc clears it.
    term.keys(s, &["Escape"]);
    term.wait_for_text(s, "Topics (4)", Duration::from_secs(5));
    select(&term, s, "inventory");
    term.keys(s, &["E"]);
    term.wait_for_text(s, "Edit topic configs: inventory", Duration::from_secs(5));
    term.keys(s, &["-l", "2d"]);
    term.keys(s, &["Enter"]);
    term.wait_for(s, "the configs plan", Duration::from_secs(15), |screen| {
        screen.contains("172800000 (2d)") && screen.contains("default")
    });
    term.keys(s, &["y"]);
    term.wait_for_text(s, "Done", Duration::from_secs(15));
    term.keys(s, &["Escape"]);
    term.keys(s, &["5"]);
    term.wait_for(
        s,
        "the retention override in the configs pane",
        Duration::from_secs(20),
        |screen| screen.lines().any(|l| l.contains("retention.ms") && l.contains("2d")),
    );
    assert_eq!(audit_lines(&term).len(), 3);

    // A read-only console refuses the same keys, with the reason, and shows no action keys.
    let ro = "ro";
    term.start(ro, &["--read-only"]);
    term.wait_for_text(ro, "Topics (4)", Duration::from_secs(15));
    let screen = term.screen(ro);
    if screen.contains("partitions+") {
        term.fail("a read-only console lists no action keys", &screen);
    }
    for key in ["C", "E", "+", "P", "X", "D"] {
        term.keys(ro, &[key]);
        term.wait_for(ro, &format!("{key} refused"), Duration::from_secs(5), |screen| {
            screen.contains("is read-only (--read-only)") && screen.contains("nothing was changed")
        });
        term.keys(ro, &["Escape"]);
        term.wait_for(ro, "the notice closed", Duration::from_secs(5), |screen| {
            !screen.contains("is read-only")
        });
    }
    term.keys(ro, &["4"]);
    for key in ["R", "U", "D"] {
        term.keys(ro, &[key]);
        term.wait_for_text(ro, "is read-only (--read-only)", Duration::from_secs(5));
        term.keys(ro, &["Escape"]);
    }
    assert_eq!(audit_lines(&term).len(), 3, "the read-only console changed nothing");
    term.quit(ro);
    term.quit(s);
    term.wait_for_brokers(0, Duration::from_secs(15), s);
}

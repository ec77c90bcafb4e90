//! Terminal safety: the console takes the terminal only when it is one, and gives it back on
//! every way out, a panic on any thread or task included.
//!
//! [`install_panic_hook`] goes in before raw mode. The hook waits for a frame being drawn to
//! finish (every draw holds [`draw_guard`]) and keeps the lock, so no frame is drawn on the
//! restored screen; then it restores the terminal, runs the cleanup it was given (stopping the
//! bundled broker), prints the panic message and where the log is, and exits with status 101.
//! A panic in a tokio task or a blocking thread thus ends the whole console, instead of
//! leaving the UI drawing on a terminal in cooked mode.

use std::io::{IsTerminal, Stdout};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

static DRAW: Mutex<()> = Mutex::new(());
/// The console's terminal is in raw mode on the alternate screen.
static ENTERED: AtomicBool = AtomicBool::new(false);
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Held while a frame is drawn.
pub fn draw_guard() -> MutexGuard<'static, ()> {
    DRAW.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(
        "the console needs a terminal, and {0} is not one; for scripts, use `strom topics` or `strom groups` (see `strom --help`)"
    )]
    NotATerminal(&'static str),
    #[error("cannot set up the terminal: {0}")]
    Setup(std::io::Error),
}

/// Checks that stdin and stdout are a terminal, without touching it.
pub fn check() -> Result<(), TerminalError> {
    if !std::io::stdin().is_terminal() {
        return Err(TerminalError::NotATerminal("standard input"));
    }
    if !std::io::stdout().is_terminal() {
        return Err(TerminalError::NotATerminal("standard output"));
    }
    Ok(())
}

/// Raw mode, the alternate screen, and a terminal to draw on. Install the panic hook first.
pub fn enter() -> Result<Terminal<CrosstermBackend<Stdout>>, TerminalError> {
    check()?;
    terminal::enable_raw_mode().map_err(TerminalError::Setup)?;
    ENTERED.store(true, Ordering::SeqCst);
    let setup = execute!(std::io::stdout(), terminal::EnterAlternateScreen)
        .and_then(|_| Terminal::new(CrosstermBackend::new(std::io::stdout())));
    setup.map_err(|e| {
        restore();
        TerminalError::Setup(e)
    })
}

/// Leaves raw mode and the alternate screen (once; later calls do nothing).
pub fn restore() {
    if ENTERED.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(std::io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
    }
}

/// Makes any panic restore the terminal, run `cleanup`, say what happened and where the log
/// is, and exit with status 101.
pub fn install_panic_hook(log: PathBuf, cleanup: fn()) {
    std::panic::set_hook(Box::new(move |info| {
        if PANICKED.swap(true, Ordering::SeqCst) {
            // A second panic (another thread, or in the cleanup): the first one is handling it.
            return;
        }
        // Let a frame being drawn finish, then keep the lock so no other one starts. A panic
        // in the middle of a draw holds the lock itself: give up waiting after a moment.
        let deadline = Instant::now() + Duration::from_millis(300);
        let _frame = loop {
            match DRAW.try_lock() {
                Ok(g) => break Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => break Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(std::sync::TryLockError::WouldBlock) => break None,
            }
        };
        restore();
        let message = panic_message(info);
        tracing::error!(%message, "panic; exiting");
        cleanup();
        eprintln!(
            "strom: internal error: {message}\nstrom: the log is {}; please report this with it",
            log.display()
        );
        std::process::exit(101);
    }));
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
    match info.location() {
        Some(l) => format!("{what} (thread '{thread}' at {}:{})", l.file(), l.line()),
        None => format!("{what} (thread '{thread}')"),
    }
}

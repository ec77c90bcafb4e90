use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use strom::app::action::Update;
use strom::app::bundled;
use strom::app::keymap::Keymap;
use strom::app::run::Console;
use strom::app::state::{AppState, Target};
use strom::broker::{self, config::BrokerConfig, BrokerOptions};
use strom::cli::{default_data_dir, state_dir, BrokerArgs, Cli, Command, ConsoleArgs, DemoArgs};
use strom::cluster::client::ClusterClient;
use strom::config::Config;
use strom::ui::theme::Theme;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Broker(args)) => run_broker(args),
        Some(Command::Demo(args)) => run_demo(args, cli.console.bootstrap),
        None => run_console(cli.console),
    }
}

/// Logs to stderr, for the foreground commands (the console's broker child's stderr is a file).
fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("STROM_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("strom: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn run_broker(args: BrokerArgs) -> ExitCode {
    log_to_stderr();
    let config = match &args.config {
        Some(path) => match BrokerConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("strom broker: {e}");
                return ExitCode::from(2);
            }
        },
        None => BrokerConfig::default(),
    };
    let opts = BrokerOptions {
        listen: args.listen,
        data_dir: args.data_dir.unwrap_or_else(default_data_dir),
        config,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(broker::run(opts, |addr| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {addr}");
        let _ = out.flush();
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strom broker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_demo(args: DemoArgs, bootstrap: Option<String>) -> ExitCode {
    log_to_stderr();
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let opts = strom::demo::DemoOptions {
        bootstrap: bootstrap.unwrap_or_else(|| "127.0.0.1:9092".into()),
        rate: args.rate,
        force: args.force,
    };
    let result = rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = tx.send(true);
        });
        strom::demo::run(opts, rx).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strom demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves when the session ends under us: SIGHUP (SSH dropped) or SIGTERM.
async fn hangup() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::hangup()), signal(SignalKind::terminate())) {
        (Ok(mut hup), Ok(mut term)) => {
            tokio::select! {
                _ = hup.recv() => tracing::info!("SIGHUP: quitting"),
                _ = term.recv() => tracing::info!("SIGTERM: quitting"),
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

fn run_console(args: ConsoleArgs) -> ExitCode {
    // The terminal belongs to the UI: logs go to a file.
    let log_dir = state_dir();
    let _ = std::fs::create_dir_all(&log_dir);
    let (writer, _log_guard) = tracing_appender::non_blocking(tracing_appender::rolling::never(&log_dir, "strom.log"));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("STROM_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(writer)
        .with_ansi(false)
        .init();

    let config_path = args.config.clone().unwrap_or_else(strom::config::default_path);
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strom: {e}");
            return ExitCode::from(2);
        }
    };
    let profile = if args.bootstrap.is_some() {
        None
    } else {
        match config.profile(args.profile.as_deref(), &config_path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("strom: {e}");
                return ExitCode::from(2);
            }
        }
    };

    // Problems with optional files are shown in the console, which then uses the defaults.
    let mut warnings = Vec::new();
    let theme = if Theme::no_color_requested() {
        Theme::no_color()
    } else {
        let name = args
            .theme
            .clone()
            .or(config.theme.clone())
            .unwrap_or_else(|| "default".into());
        Theme::load(&name).unwrap_or_else(|e| {
            warnings.push(format!("{e}; using the default theme"));
            Theme::load("default").unwrap_or_else(|_| Theme::no_color())
        })
    };
    let keymap = match &config.keymap {
        None => Keymap::load(None).map_err(|e| e.to_string()),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Keymap::load(Some(&text)).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) => Err(format!("cannot read keymap {}: {e}", path.display())),
        }
        .or_else(|e| {
            warnings.push(format!("{e}; using the default keys"));
            Keymap::load(None)
        })
        .map_err(|e| e.to_string()),
    };
    let keymap = match keymap {
        Ok(k) => k,
        Err(e) => {
            eprintln!("strom: built-in keymap is broken: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut bundled_broker = None;
    let target = match (&args.bootstrap, &profile) {
        (Some(b), _) => Target {
            name: b.clone(),
            bootstrap: b.clone(),
            bundled: false,
        },
        (None, Some((name, p))) => Target {
            name: name.clone(),
            bootstrap: p.bootstrap.clone(),
            bundled: false,
        },
        (None, None) => {
            let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
            match bundled::ensure(&data_dir, &log_dir.join("broker.log")) {
                Ok(b) => {
                    let t = Target {
                        name: "bundled".into(),
                        bootstrap: b.address.clone(),
                        bundled: true,
                    };
                    bundled_broker = Some(b);
                    t
                }
                Err(e) => {
                    eprintln!("strom: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let start_demo = bundled_broker.as_ref().is_some_and(|b| b.first_run) && !args.no_demo;

    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let client = match ClusterClient::new(&target.bootstrap, Duration::from_secs(5)) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("strom: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(64);
    let (upd_tx, upd_rx) = tokio::sync::mpsc::channel::<Update>(256);
    let result = rt.block_on(async {
        tokio::spawn(strom::app::worker::run(
            Arc::clone(&client),
            cmd_rx,
            upd_tx.clone(),
            shutdown_rx.clone(),
        ));
        let mut demo = None;
        if start_demo {
            let opts = strom::demo::DemoOptions {
                bootstrap: target.bootstrap.clone(),
                rate: strom::demo::DEFAULT_RATE,
                force: false,
            };
            let (rx, tx) = (shutdown_rx.clone(), upd_tx.clone());
            demo = Some(tokio::spawn(async move {
                if let Err(e) = strom::demo::run(opts, rx).await {
                    tracing::warn!(error = %e, "demo workload stopped");
                    let _ = tx.send(Update::Note(format!("demo workload stopped: {e}"))).await;
                }
            }));
        }
        let mut state = AppState::new(target.clone(), Instant::now());
        state.notes.extend(warnings);
        if start_demo {
            state.flash(
                "first run: the demo workload is producing to device-heartbeat, device-event, inventory and parties",
            );
        }
        let mut console = Console::new(state, keymap, cmd_tx);
        let view = strom::ui::ConsoleView { theme };
        // ratatui::init enters raw mode and the alternate screen and installs a panic hook
        // that restores the terminal before the panic message prints.
        let mut terminal = ratatui::init();
        // The end-to-end tests prove that a panic with the UI up restores the terminal and
        // stops the bundled broker; this is how they cause one.
        if std::env::var_os("STROM_TEST_PANIC").is_some() {
            let _ = terminal.draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("about to panic"), f.area()));
            panic!("STROM_TEST_PANIC is set: panicking with the terminal in raw mode");
        }
        let r = strom::app::run::run(&mut terminal, &mut console, &view, upd_rx, hangup()).await;
        ratatui::restore();
        let _ = shutdown_tx.send(true);
        // Let the demo's consumers leave their groups while the broker is still up.
        if let Some(demo) = demo {
            if tokio::time::timeout(Duration::from_secs(8), demo).await.is_err() {
                tracing::warn!("demo workload did not stop within 8 s");
            }
        }
        r
    });
    // Stop the worker's blocking calls and the demo before the broker goes.
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Some(mut b) = bundled_broker {
        b.stop();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strom: {e}");
            ExitCode::FAILURE
        }
    }
}

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use strom::actions::{self, RunOptions};
use strom::app::action::{Command as WorkerCommand, Update};
use strom::app::bundled;
use strom::app::keymap::Keymap;
use strom::app::run::Console;
use strom::app::state::AppState;
use strom::app::terminal;
use strom::app::worker::WorkerConfig;
use strom::broker::{self, config::BrokerConfig, BrokerOptions};
use strom::cli::{
    default_data_dir, state_dir, ActionArgs, AddUserArgs, BrokerArgs, BrokerCommand, Cli, ClusterArgs, Command,
    ConfigCommand, ConsoleArgs, DemoArgs, GroupCommand, RemoveUserArgs, TopicCommand,
};
use strom::cluster::client::ClusterClient;
use strom::cluster::connect::ConnectionSpec;
use strom::cluster::ops::Op;
use strom::config::Config;
use strom::headless::{self, Listing};
use strom::ui::theme::Theme;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Broker(args)) => run_broker(args),
        Some(Command::Demo(args)) => {
            let cluster = cli.cluster.merge(args.cluster.clone());
            run_demo(args, cluster)
        }
        Some(Command::Topics(args)) => run_listing(Listing::Topics, cli.cluster.merge(args.cluster), args.json),
        Some(Command::Groups(args)) => run_listing(Listing::Groups, cli.cluster.merge(args.cluster), args.json),
        Some(Command::ResetOffsets(a)) => {
            let op = actions::reset_op(&a);
            run_action(cli.cluster, a.action, op, a.export)
        }
        Some(Command::AddPartitions(a)) => {
            run_action(cli.cluster, a.action.clone(), actions::add_partitions_op(&a), None)
        }
        Some(Command::Config {
            command: ConfigCommand::Set(a),
        }) => run_action(cli.cluster, a.action.clone(), actions::config_set_op(&a), None),
        Some(Command::Topic {
            command: TopicCommand::Create(a),
        }) => run_action(cli.cluster, a.action.clone(), actions::create_topic_op(&a), None),
        Some(Command::Topic {
            command: TopicCommand::Delete(a),
        }) => {
            let op = Ok(Op::DeleteTopic { topic: a.topic.clone() });
            run_action(cli.cluster, a.action, op, None)
        }
        Some(Command::DeleteRecords(a)) => {
            run_action(cli.cluster, a.action.clone(), actions::delete_records_op(&a), None)
        }
        Some(Command::Group {
            command: GroupCommand::Delete(a),
        }) => run_action(cli.cluster, a.action.clone(), actions::group_delete_op(&a), None),
        Some(Command::Produce(a)) => run_action(cli.cluster, a.action.clone(), actions::produce_op(&a), None),
        Some(Command::Lag(args)) => {
            let spec = match headless_spec(&cli.cluster.merge(args.cluster)) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = headless::lag::LagOptions {
                group: args.group,
                json: args.json,
                window: args.window,
                watch: args.watch,
                interval: args.interval,
            };
            headless::run_lag(&spec, &opts)
        }
        Some(Command::Tail(args)) => {
            let spec = match headless_spec(&cli.cluster.merge(args.cluster)) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let parsed = headless::tail::parse_target(&args.target).and_then(|target| {
                let start = headless::tail::parse_start(&args.from, strom::app::worker::wall_ms())?;
                Ok((target, start))
            });
            let (target, start) = match parsed {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("strom tail: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = headless::tail::TailOptions {
                target,
                start,
                count: args.count,
                follow: args.follow,
                json: args.json,
            };
            headless::run_tail(&spec, &opts)
        }
        None => run_console(cli.cluster, cli.console),
    }
}

/// A change command: its operation planned (and with --execute applied) against the cluster.
fn run_action(
    cluster: ClusterArgs,
    args: ActionArgs,
    op: Result<Op, String>,
    export: Option<std::path::PathBuf>,
) -> ExitCode {
    let op = match op {
        Ok(op) => op,
        Err(e) => {
            eprintln!("strom: {e}");
            return ExitCode::from(2);
        }
    };
    let spec = match headless_spec(&cluster.merge(args.cluster)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let opts = RunOptions {
        execute: args.execute,
        json: args.json,
        export,
        state_dir: state_dir(),
    };
    actions::run(&spec, op, &opts)
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
    match args.command {
        Some(BrokerCommand::AddUser(a)) => return add_user(a),
        Some(BrokerCommand::RemoveUser(a)) => return remove_user(a),
        None => {}
    }
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
    let mut config = config;
    if !args.advertise.is_empty() {
        if let Err(e) = config.set("advertised.listeners", &args.advertise.join(",")) {
            eprintln!("strom broker: --advertise: {e}");
            return ExitCode::from(2);
        }
    }
    let flags = broker::security::ListenerFlags {
        listen: args.listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        tls_client_ca: args.tls_client_ca,
        insecure_listen: args.insecure_listen,
    };
    let listeners = match broker::security::plan(&flags) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("strom broker: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = BrokerOptions {
        listeners,
        data_dir: args.data_dir.unwrap_or_else(default_data_dir),
        config,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(broker::run(opts, |bound| {
        // One line per listener; the first line is the first --listen.
        let mut out = std::io::stdout().lock();
        for b in bound {
            let _ = writeln!(out, "listening on {b}");
        }
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

/// The password of `add-user`: prompted twice without echo on a terminal, else the first line
/// of standard input. Never an argument, so it stays out of `ps` and shell history.
fn read_password(name: &str) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {name}: ")).map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Same password again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    };
    if password.is_empty() {
        return Err(
            "the password is empty (it is read from standard input, e.g. `echo \"$PW\" | strom broker add-user NAME`)"
                .into(),
        );
    }
    Ok(password)
}

fn add_user(args: AddUserArgs) -> ExitCode {
    use broker::security::scram::ScramHash;
    use broker::security::users;
    let dir = args.data_dir.unwrap_or_else(default_data_dir);
    if let Err(e) = users::validate_name(&args.name) {
        eprintln!("strom broker add-user: {e}");
        return ExitCode::from(2);
    }
    let hashes: Vec<ScramHash> = if args.mechanisms.is_empty() {
        ScramHash::ALL.to_vec()
    } else {
        ScramHash::ALL
            .into_iter()
            .filter(|h| args.mechanisms.iter().any(|m| m == h.mechanism()))
            .collect()
    };
    let password = match read_password(&args.name) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("strom broker add-user: {e}");
            return ExitCode::from(2);
        }
    };
    match users::add_user(&dir, &args.name, &password, &hashes, args.iterations) {
        Ok(done) => {
            let names: Vec<_> = hashes.iter().map(|h| h.mechanism()).collect();
            println!(
                "{} user {:?} ({}) in {}; a running broker uses it from the next login",
                if done == users::Added::Created {
                    "added"
                } else {
                    "replaced"
                },
                args.name,
                names.join(", "),
                dir.join(users::USERS_FILE).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("strom broker add-user: {e}");
            ExitCode::FAILURE
        }
    }
}

fn remove_user(args: RemoveUserArgs) -> ExitCode {
    use broker::security::users;
    let dir = args.data_dir.unwrap_or_else(default_data_dir);
    match users::remove_user(&dir, &args.name) {
        Ok(true) => {
            println!(
                "removed user {:?} from {}; connections it opened stay open, new logins are refused",
                args.name,
                dir.join(users::USERS_FILE).display()
            );
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!(
                "strom broker remove-user: no user {:?} in {}",
                args.name,
                dir.join(users::USERS_FILE).display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("strom broker remove-user: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The cluster the options name, or the message and exit status 2.
fn resolve(args: &ClusterArgs) -> Result<(Config, Option<ConnectionSpec>), ExitCode> {
    let path = args.config_path();
    let config = Config::load(&path).map_err(|e| {
        eprintln!("strom: {e}");
        ExitCode::from(2)
    })?;
    let spec = args.resolve(&config, &path).map_err(|e| {
        eprintln!("strom: {e}");
        ExitCode::from(2)
    })?;
    Ok((config, spec))
}

fn run_demo(args: DemoArgs, cluster: ClusterArgs) -> ExitCode {
    log_to_stderr();
    let spec = match resolve(&cluster) {
        Ok((_, spec)) => spec.unwrap_or_else(|| cluster.adjust(ConnectionSpec::bootstrap("127.0.0.1:9092"))),
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let opts = strom::demo::DemoOptions {
        connection: spec,
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

fn run_listing(listing: Listing, cluster: ClusterArgs, json: bool) -> ExitCode {
    match headless_spec(&cluster) {
        Ok(spec) => headless::run(listing, &spec, json),
        Err(code) => code,
    }
}

/// The cluster of a headless command: the one the options name, else the bundled broker of a
/// console running on this machine.
fn headless_spec(cluster: &ClusterArgs) -> Result<ConnectionSpec, ExitCode> {
    match resolve(cluster)? {
        (_, Some(spec)) => Ok(spec),
        (_, None) => match bundled::running(&default_data_dir()) {
            Some(address) => Ok(cluster.adjust(ConnectionSpec::bundled(&address))),
            None => {
                eprintln!("strom: no cluster given and no bundled broker running; use -b HOST:PORT or --profile NAME");
                Err(ExitCode::from(2))
            }
        },
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

fn run_console(cluster: ClusterArgs, args: ConsoleArgs) -> ExitCode {
    // The terminal belongs to the UI: logs go to a file.
    let log_dir = state_dir();
    let _ = std::fs::create_dir_all(&log_dir);
    let log_path = log_dir.join("strom.log");
    let (writer, _log_guard) = tracing_appender::non_blocking(tracing_appender::rolling::never(&log_dir, "strom.log"));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("STROM_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(writer)
        .with_ansi(false)
        .init();

    let (config, spec) = match resolve(&cluster) {
        Ok(v) => v,
        Err(code) => return code,
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

    // Nothing is started before we know there is a terminal to show it on.
    if let Err(e) = terminal::check() {
        eprintln!("strom: {e}");
        return ExitCode::from(2);
    }
    terminal::install_panic_hook(log_path.clone(), bundled::stop_after_panic);
    let mut term = match terminal::enter() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("strom: {e}");
            return ExitCode::from(2);
        }
    };

    let mut bundled_broker = None;
    let spec = match spec {
        Some(s) => s,
        None => {
            let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
            let _ = term.draw(|f| {
                f.render_widget(
                    ratatui::widgets::Paragraph::new(format!(
                        " strom: starting the bundled broker ({})…",
                        data_dir.display()
                    )),
                    f.area(),
                )
            });
            match bundled::ensure(&data_dir, &log_dir.join("broker.log")) {
                Ok(b) => {
                    let s = cluster.adjust(ConnectionSpec::bundled(&b.address));
                    bundled_broker = Some(b);
                    s
                }
                Err(e) => {
                    terminal::restore();
                    eprintln!("strom: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let start_demo = bundled_broker.as_ref().is_some_and(|b| b.first_run) && !args.no_demo;
    let test_panic = std::env::var("STROM_TEST_PANIC").ok();

    let result = (|| {
        let rt = runtime().map_err(|_| "cannot start the async runtime".to_string())?;
        let client = ClusterClient::new(&spec).map_err(|e| e.to_string())?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel::<WorkerCommand>(16);
        let (upd_tx, upd_rx) = tokio::sync::mpsc::channel::<Update>(1024);
        let mut worker_cfg = WorkerConfig::new(spec.timeout);
        worker_cfg.panic_for_test = test_panic.as_deref() == Some("worker");
        let r = rt.block_on(async {
            tokio::spawn(strom::app::worker::run(
                Arc::new(client),
                worker_cfg,
                cmd_rx,
                upd_tx,
                shutdown_rx.clone(),
            ));
            let mut demo = None;
            let mut state = AppState::new(spec.clone(), Instant::now());
            state.notes.extend(warnings);
            if start_demo {
                let opts = strom::demo::DemoOptions {
                    connection: spec.clone(),
                    rate: strom::demo::DEFAULT_RATE,
                    force: false,
                };
                let rx = shutdown_rx.clone();
                demo = Some(tokio::spawn(async move {
                    if let Err(e) = strom::demo::run(opts, rx).await {
                        tracing::warn!(error = %e, "demo workload stopped");
                    }
                }));
                state.flash(
                    "first run: the demo workload is producing to device-heartbeat, device-event, inventory and parties",
                );
            }
            let mut console = Console::new(state, keymap);
            let view = strom::ui::ConsoleView { theme };
            // The end-to-end tests prove that a panic with the UI up restores the terminal and
            // stops the bundled broker; this is how they cause one on the UI's thread.
            if test_panic.as_deref().is_some_and(|v| v != "worker") {
                let _ = term.draw(|f| f.render_widget(ratatui::widgets::Paragraph::new("about to panic"), f.area()));
                panic!("STROM_TEST_PANIC is set: panicking with the terminal in raw mode");
            }
            let r = strom::app::run::run(&mut term, &mut console, &view, cmd_tx, upd_rx, hangup()).await;
            terminal::restore();
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
        r
    })();
    terminal::restore();
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

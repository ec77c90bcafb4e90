use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use strom::broker::{self, config::BrokerConfig, BrokerOptions};
use strom::cli::{default_data_dir, BrokerArgs, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Broker(args)) => run_broker(args),
        None => {
            eprintln!("strom: the console is not built yet; run `strom broker` for the bundled broker");
            ExitCode::from(2)
        }
    }
}

fn run_broker(args: BrokerArgs) -> ExitCode {
    // The broker logs to stderr: it runs in the foreground or as the console's child, whose
    // stderr goes to the log file.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STROM_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strom broker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(broker::run(opts, |addr| {
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

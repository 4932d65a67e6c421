//! `confidential-relay run --config <file>`: the relay node an operator runs beside a Chainlink
//! node. Serves until SIGINT or SIGTERM, then drains in-flight requests and exits 0. SIGHUP
//! re-reads the file and applies the trusted PCR sets, trust root and backend routes without
//! dropping gateway links; an invalid file is refused with a log line and the old one stays.
//!
//! Exit codes: 0 after a clean shutdown, 1 when the node cannot start, 64 for an invalid
//! configuration (the offending field is named on stderr).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::service::node::{RelayNode, StartError};

/// Exit code for an invalid configuration (BSD `EX_USAGE`, as linkerd uses).
pub const EXIT_CONFIG: u8 = 64;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML configuration file.
    #[arg(long)]
    pub config: PathBuf,
}

/// Runs the node until a termination signal.
pub fn run(args: Args) -> ExitCode {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("invalid configuration {}: {err}", args.config.display());
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(&args.config, config))
}

async fn serve(path: &Path, config: Config) -> ExitCode {
    let (mut terminate, mut interrupt, mut hangup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(t), Ok(i), Ok(h)) => (t, i, h),
        _ => {
            eprintln!("cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let node = match RelayNode::start(&config).await {
        Ok(node) => node,
        Err(StartError::Config(err)) => {
            eprintln!("invalid configuration {}: {err}", path.display());
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(err) => {
            eprintln!("cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    loop {
        tokio::select! {
            _ = terminate.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = interrupt.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = hangup.recv() => reload(path, &node),
        }
    }
    let cut_off = node.shutdown().await;
    if cut_off > 0 {
        tracing::warn!(
            cut_off,
            "shutdown grace expired with requests still running"
        );
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

fn reload(path: &Path, node: &RelayNode) {
    match Config::load(path).and_then(|config| node.reload(&config)) {
        Ok(()) => {}
        Err(err) => {
            tracing::error!(error = %err, "SIGHUP: configuration refused; keeping the current one")
        }
    }
}

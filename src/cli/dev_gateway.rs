//! `confidential-relay dev-gateway --config <file>`: runs the development gateway standalone
//! for local development and demos. It is a test peer, not a production gateway.
//!
//! Exit codes: 0 after a clean stop (Ctrl-C / SIGTERM), 1 when it cannot start (bind failure),
//! 2 for a usage error (unreadable or invalid config file).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::gateway::dev::{DevConfig, DevGateway};

/// Exit code when the gateway cannot start (e.g. a port is taken).
pub const EXIT_START_FAILED: u8 = 1;

/// Arguments of `dev-gateway`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// TOML file with the dev gateway configuration (see docs/gateway.md).
    #[arg(long)]
    pub config: PathBuf,
}

/// Loads the configuration; the error text names the file or the field.
pub fn load(path: &std::path::Path) -> Result<DevConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    DevConfig::from_toml(&text).map_err(|err| format!("{}: {err}", path.display()))
}

/// Runs the dev gateway until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_START_FAILED);
        }
    };
    runtime.block_on(async move {
        let gateway = match DevGateway::start(config).await {
            Ok(gateway) => gateway,
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::from(EXIT_START_FAILED);
            }
        };
        println!("node endpoint: {}", gateway.node_url());
        println!("user endpoint: http://{}/", gateway.http_addr());
        wait_for_stop().await;
        gateway.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

//! The sandbox gateway as a process: configuration from GATEWAY_* variables, logs on stderr
//! (stdout carries only the "listening on" line that scripts parse).

use edgeshop_gateway::{GatewayConfig, config};
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

// Checkout allocates many small, short-lived buffers (JSON, SQL rows, HTTP frames) across
// worker threads; glibc's malloc spent a quarter of the process's time on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let bind = config::bind_from_env()?;
    edgeshop_gateway::run(bind, GatewayConfig::from_env()?).await
}

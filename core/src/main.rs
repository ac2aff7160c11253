//! `edgeshop-core`: see `edgeshop-core --help`.

use clap::Parser;
use edgeshop_core::cli::{Cli, run};
use edgeshop_core::config::Config;
use edgeshop_core::telemetry;

// Checkout allocates many small, short-lived buffers (JSON, SQL rows, HTTP frames) across
// worker threads; glibc's malloc spent a quarter of the process's time on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("edgeshop-core: configuration error: {err:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init_logging(config.log_format);
    match run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("edgeshop-core: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

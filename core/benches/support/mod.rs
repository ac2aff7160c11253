//! What every benchmark of the core needs: its settings from the environment, the app's
//! configuration for a private Redis prefix, and a results history in `bench-results/`.
//! Included by each benchmark with `#[path]`; not a benchmark itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result};
use edgeshop_core::config::Config;

/// A setting from the environment, or `default` when unset or blank.
pub fn env_or<T: FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map_err(|err| anyhow::anyhow!("{name}={text:?} is not valid: {err}")),
        _ => Ok(default),
    }
}

const BENCH_DEFAULTS: &[(&str, &str)] = &[
    ("EDGESHOP_RATE_LIMIT_PER_BUYER", "0"),
    ("EDGESHOP_RATE_LIMIT_PER_IP", "0"),
    ("EDGESHOP_MAX_CONCURRENT_CHECKOUTS", "0"),
    (
        "EDGESHOP_ADMISSION_KEY",
        "benchmark-admission-secret-not-for-production",
    ),
];

/// The app's configuration in development mode with these variables fixed; the pool size and
/// the request timeout may be tuned from the environment.
pub fn app_config(fixed: &[(&str, &str)]) -> Result<Config> {
    let passed_through = ["DATABASE_MAX_CONNECTIONS", "EDGESHOP_REQUEST_TIMEOUT_MS"];
    Config::from_lookup(|name| {
        if name == "EDGESHOP_ENV" {
            return Some("development".to_owned());
        }
        if let Some((_, value)) = fixed.iter().find(|(key, _)| *key == name) {
            return Some((*value).to_owned());
        }
        // The buyers of a benchmark all come from one address, many a second; flash sales are
        // not measured here but their key must exist.
        if let Some((_, value)) = BENCH_DEFAULTS.iter().find(|(key, _)| *key == name) {
            return Some((*value).to_owned());
        }
        passed_through
            .contains(&name)
            .then(|| std::env::var(name).ok())
            .flatten()
    })
    .context("building the app configuration")
}

/// Appends one run's figures, with the commit measured, to `bench-results/<bench>.jsonl`.
pub fn append_jsonl(bench: &str, mut figures: serde_json::Value) -> Result<()> {
    figures["commit"] = git_commit().into();
    let dir = workspace_root().join("bench-results");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{bench}.jsonl"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{figures}").with_context(|| format!("writing {}", path.display()))?;
    println!("results appended to {}", path.display());
    Ok(())
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn workspace_root() -> PathBuf {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    core.parent().unwrap_or(core).to_path_buf()
}

/// The commit measured, when git can tell (a missing git or repository is not an error).
fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `future` to completion on a multi-threaded runtime built for it.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(future)
}

//! Configuration from environment variables, with defaults that work on a developer's machine.
//!
//! In production (`EDGESHOP_ENV=production`) nothing secret has a default: the core refuses to
//! start without a configured signing key rather than minting one nobody else knows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::rate_limits::RateLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: String,
    /// Prefixes every Redis key, so several shops (or tests) can share one Redis.
    pub redis_key_prefix: String,
    pub jwt_key: KeySource,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
    pub payment_gateway_url: String,
    pub payment_gateway_secret_key: String,
    /// The limit for one attempt at the gateway (retries come on top).
    pub payment_gateway_timeout: Duration,
    /// How long a checkout holds its stock and its prices (15 minutes).
    pub checkout_ttl: Duration,
    /// How often expired checkouts are released (30 s).
    pub sweep_interval: Duration,
    /// A saga without progress for this long is recovered (15 minutes).
    pub saga_stuck_after: Duration,
    /// Crash-test hook: abort the process right after this saga step commits
    /// (`RESERVE_INVENTORY`, `PROCESS_PAYMENT`, `CREATE_ORDER`, `CONFIRM_INVENTORY`). Refused in
    /// production.
    pub fault_crash_after: Option<String>,
    /// `EDGESHOP_EDGE_SECRET`: shared with the edge, which sends it with its cart snapshots.
    /// Unset: the core takes no snapshots.
    pub edge_secret: Option<String>,
    /// The secret the waiting room's tickets and admissions are signed with, shared with the
    /// edge (`EDGESHOP_ADMISSION_KEY`, or a file: `EDGESHOP_ADMISSION_KEY_FILE`).
    pub admission_key: SecretSource,
    /// How often flash sales are pre-warmed and their lapsed claims repaired (10 s).
    pub flash_sale_interval: Duration,
    /// Limits on the checkout routes (`EDGESHOP_RATE_LIMIT_PER_BUYER`, `_PER_IP`,
    /// `EDGESHOP_MAX_CONCURRENT_CHECKOUTS`; 0 turns one off).
    pub rate_limits: RateLimits,
}

/// A secret given directly or kept in a file (generated in development when missing).
#[derive(Debug, Clone)]
pub enum SecretSource {
    Text(String),
    File(PathBuf),
}

/// Where the Ed25519 token-signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// PEM text given directly (from a secrets manager).
    Pem(String),
    /// A PEM file; in development it is generated on first start if missing.
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_DEV_KEY_FILE: &str = ".dev/keys/jwt-ed25519.pem";
pub const DEFAULT_DEV_ADMISSION_KEY_FILE: &str = ".dev/keys/admission.key";
pub const DEFAULT_PAYMENT_GATEWAY_URL: &str = "http://127.0.0.1:8090";
pub const DEFAULT_PAYMENT_GATEWAY_SECRET_KEY: &str = "sk_test_edgeshop";

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let environment = match get("EDGESHOP_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => bail!("EDGESHOP_ENV must be development or production, not {other:?}"),
        };
        let production = environment == Environment::Production;
        let required = |name: &str, default: &str| -> anyhow::Result<String> {
            match get(name) {
                Some(v) => Ok(v),
                None if production => bail!("{name} must be set when EDGESHOP_ENV=production"),
                None => Ok(default.to_owned()),
            }
        };
        let bind = required("EDGESHOP_BIND", DEFAULT_BIND)?
            .parse()
            .context("EDGESHOP_BIND must be an address such as 127.0.0.1:8080")?;
        let database_url = required("DATABASE_URL", DEFAULT_DATABASE_URL)?;
        let redis_url = required("REDIS_URL", DEFAULT_REDIS_URL)?;
        let database_max_connections = get("DATABASE_MAX_CONNECTIONS")
            .map(|v| {
                v.parse::<u32>()
                    .context("DATABASE_MAX_CONNECTIONS must be a number")
            })
            .transpose()?
            .unwrap_or(20);
        let redis_key_prefix = get("REDIS_KEY_PREFIX").unwrap_or_else(|| "edgeshop:".to_owned());
        let jwt_key = match (
            get("EDGESHOP_JWT_PRIVATE_KEY"),
            get("EDGESHOP_JWT_PRIVATE_KEY_FILE"),
        ) {
            (Some(pem), _) => KeySource::Pem(pem),
            (None, Some(path)) => KeySource::File(PathBuf::from(path)),
            (None, None) if production => bail!(
                "EDGESHOP_JWT_PRIVATE_KEY or EDGESHOP_JWT_PRIVATE_KEY_FILE must be set when EDGESHOP_ENV=production"
            ),
            (None, None) => KeySource::File(PathBuf::from(DEFAULT_DEV_KEY_FILE)),
        };
        let request_timeout = Duration::from_millis(
            get("EDGESHOP_REQUEST_TIMEOUT_MS")
                .map(|v| {
                    v.parse::<u64>()
                        .context("EDGESHOP_REQUEST_TIMEOUT_MS must be a number")
                })
                .transpose()?
                .unwrap_or(15_000),
        );
        let log_format = match get("EDGESHOP_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("EDGESHOP_LOG_FORMAT must be pretty or json, not {other:?}"),
        };
        let seconds = |name: &str, default: u64| -> anyhow::Result<Duration> {
            Ok(Duration::from_secs(
                get(name)
                    .map(|v| {
                        v.parse::<u64>()
                            .with_context(|| format!("{name} must be a number of seconds"))
                    })
                    .transpose()?
                    .unwrap_or(default),
            ))
        };
        let payment_gateway_url = required("PAYMENT_GATEWAY_URL", DEFAULT_PAYMENT_GATEWAY_URL)?;
        let payment_gateway_secret_key = required(
            "PAYMENT_GATEWAY_SECRET_KEY",
            DEFAULT_PAYMENT_GATEWAY_SECRET_KEY,
        )?;
        let payment_gateway_timeout = Duration::from_millis(
            get("PAYMENT_GATEWAY_TIMEOUT_MS")
                .map(|v| {
                    v.parse::<u64>()
                        .context("PAYMENT_GATEWAY_TIMEOUT_MS must be a number")
                })
                .transpose()?
                .unwrap_or(3_000),
        );
        let checkout_ttl = seconds("CHECKOUT_TTL_SECONDS", 15 * 60)?;
        let sweep_interval = seconds("EDGESHOP_SWEEP_INTERVAL_SECONDS", 30)?;
        let saga_stuck_after = seconds("EDGESHOP_SAGA_STUCK_AFTER_SECONDS", 15 * 60)?;
        let fault_crash_after = get("EDGESHOP_FAULT_CRASH_AFTER");
        if production && fault_crash_after.is_some() {
            bail!("EDGESHOP_FAULT_CRASH_AFTER is a crash-test hook and is refused in production");
        }
        let edge_secret = get("EDGESHOP_EDGE_SECRET");
        if edge_secret.as_ref().is_some_and(|s| s.len() < 16) {
            bail!("EDGESHOP_EDGE_SECRET must be at least 16 characters");
        }
        let admission_key = match (
            get("EDGESHOP_ADMISSION_KEY"),
            get("EDGESHOP_ADMISSION_KEY_FILE"),
        ) {
            (Some(text), _) => SecretSource::Text(text),
            (None, Some(path)) => SecretSource::File(PathBuf::from(path)),
            (None, None) if production => bail!(
                "EDGESHOP_ADMISSION_KEY or EDGESHOP_ADMISSION_KEY_FILE must be set when EDGESHOP_ENV=production"
            ),
            (None, None) => SecretSource::File(PathBuf::from(DEFAULT_DEV_ADMISSION_KEY_FILE)),
        };
        let flash_sale_interval = seconds("EDGESHOP_FLASH_SALE_INTERVAL_SECONDS", 10)?;
        let count = |name: &str, default: u32| -> anyhow::Result<u32> {
            get(name)
                .map(|v| {
                    v.parse::<u32>()
                        .with_context(|| format!("{name} must be a number"))
                })
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        let defaults = RateLimits::default();
        let rate_limits = RateLimits {
            per_buyer_per_second: count(
                "EDGESHOP_RATE_LIMIT_PER_BUYER",
                defaults.per_buyer_per_second,
            )?,
            per_ip_per_second: count("EDGESHOP_RATE_LIMIT_PER_IP", defaults.per_ip_per_second)?,
            max_concurrent_checkouts: count(
                "EDGESHOP_MAX_CONCURRENT_CHECKOUTS",
                defaults.max_concurrent_checkouts,
            )?,
        };
        Ok(Config {
            edge_secret,
            admission_key,
            flash_sale_interval,
            rate_limits,
            payment_gateway_url,
            payment_gateway_secret_key,
            payment_gateway_timeout,
            checkout_ttl,
            sweep_interval,
            saga_stuck_after,
            fault_crash_after,
            environment,
            bind,
            database_url,
            database_max_connections,
            redis_url,
            redis_key_prefix,
            jwt_key,
            request_timeout,
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_has_working_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert!(matches!(c.jwt_key, KeySource::File(ref p) if p.ends_with("jwt-ed25519.pem")));
    }

    #[test]
    fn production_refuses_to_start_without_real_settings() {
        let err = config(&[("EDGESHOP_ENV", "production")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be set"), "{err}");
        let err = config(&[
            ("EDGESHOP_ENV", "production"),
            ("EDGESHOP_BIND", "0.0.0.0:8080"),
            ("DATABASE_URL", "postgres://db/shop"),
            ("REDIS_URL", "redis://cache"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("EDGESHOP_JWT_PRIVATE_KEY"), "{err}");
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(config(&[("EDGESHOP_BIND", "nowhere")]).is_err());
        assert!(config(&[("EDGESHOP_ENV", "staging")]).is_err());
        assert!(config(&[("DATABASE_MAX_CONNECTIONS", "many")]).is_err());
    }
}

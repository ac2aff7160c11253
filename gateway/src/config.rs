//! Configuration: the library takes a `GatewayConfig` value; the binary builds one from the
//! environment (GATEWAY_BIND, GATEWAY_SECRET_KEY, GATEWAY_TIMEOUT_TOKEN_DELAY_MS). A value that is
//! set but unparsable is an error, not a silent fall-back to the default.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

pub const DEFAULT_BIND: &str = "127.0.0.1:8090";
pub const DEFAULT_SECRET_KEY: &str = "sk_test_edgeshop";
pub const DEFAULT_TIMEOUT_TOKEN_DELAY_MS: u64 = 30_000;

#[derive(Clone)]
pub struct GatewayConfig {
    /// Every `/v1` request must carry `Authorization: Bearer <secret_key>`.
    pub secret_key: String,
    /// How long a `tok_timeout` charge waits (after capturing) before it answers.
    pub timeout_token_delay: Duration,
}

// Written by hand so the key never lands in a log line.
impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("secret_key", &"<redacted>")
            .field("timeout_token_delay", &self.timeout_token_delay)
            .finish()
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            timeout_token_delay: Duration::from_millis(DEFAULT_TIMEOUT_TOKEN_DELAY_MS),
        }
    }
}

impl GatewayConfig {
    /// Reads GATEWAY_SECRET_KEY and GATEWAY_TIMEOUT_TOKEN_DELAY_MS, defaulting when unset.
    pub fn from_env() -> anyhow::Result<GatewayConfig> {
        let mut config = GatewayConfig::default();
        if let Some(key) = env_var("GATEWAY_SECRET_KEY")? {
            anyhow::ensure!(!key.is_empty(), "GATEWAY_SECRET_KEY must not be empty");
            config.secret_key = key;
        }
        if let Some(ms) = env_var("GATEWAY_TIMEOUT_TOKEN_DELAY_MS")? {
            let ms: u64 = ms.trim().parse().with_context(|| {
                format!(
                    "GATEWAY_TIMEOUT_TOKEN_DELAY_MS={ms:?} is not a whole number of milliseconds"
                )
            })?;
            config.timeout_token_delay = Duration::from_millis(ms);
        }
        Ok(config)
    }
}

/// Reads GATEWAY_BIND (default 127.0.0.1:8090; port 0 picks a free port).
pub fn bind_from_env() -> anyhow::Result<SocketAddr> {
    let bind = env_var("GATEWAY_BIND")?.unwrap_or_else(|| DEFAULT_BIND.to_owned());
    bind.trim()
        .parse()
        .with_context(|| format!("GATEWAY_BIND={bind:?} is not an address such as 127.0.0.1:8090"))
}

fn env_var(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(err) => Err(anyhow::anyhow!("{name}: {err}")),
    }
}

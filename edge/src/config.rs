//! The edge's settings, read from the runtime's variables and secrets (wrangler `[vars]` and
//! secrets, Spin variables) through the host.

use std::cell::RefCell;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;

use shared_model::flash_sale::AdmissionKey;

use crate::error::EdgeError;
use crate::host::Host;

/// How long the edge waits for the core before answering with an error page.
const DEFAULT_CORE_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RATE_LIMIT_PER_IP: u32 = 20;

#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// `CORE_URL`: the regional core, e.g. `http://127.0.0.1:8080`.
    pub core_url: String,
    /// `EDGE_JWT_PUBLIC_KEY`: the core's Ed25519 public key, base64url (the JWKS `x`), so the
    /// edge can verify buyers' tokens without asking the core.
    pub jwt_key: VerifyingKey,
    /// `CORE_TIMEOUT_MS`.
    pub core_timeout: Duration,
    /// `EDGE_SECRET`: shared with the core (its `EDGESHOP_EDGE_SECRET`), sent with cart
    /// snapshots. Unset: no snapshots are sent.
    pub edge_secret: Option<String>,
    /// `ADMISSION_KEY`: the waiting room's secret, shared with the core (its
    /// `EDGESHOP_ADMISSION_KEY`). Unset: the waiting room is closed.
    pub admission_key: Option<AdmissionKey>,
    /// `EDGE_RATE_LIMIT_PER_IP`: checkout and waiting-room requests a second per client on
    /// one edge node (20; 0 turns it off).
    pub rate_limit_per_ip: u32,
}

/// The variables the settings are made of, as the runtime gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Raw {
    core_url: Option<String>,
    jwt_key: Option<String>,
    core_timeout: Option<String>,
    edge_secret: Option<String>,
    admission_key: Option<String>,
    rate_limit_per_ip: Option<String>,
}

impl Raw {
    fn from_host(host: &impl Host) -> Self {
        Raw {
            core_url: host.config("CORE_URL"),
            jwt_key: host.config("EDGE_JWT_PUBLIC_KEY"),
            core_timeout: host.config("CORE_TIMEOUT_MS"),
            edge_secret: host.config("EDGE_SECRET"),
            admission_key: host.config("ADMISSION_KEY"),
            rate_limit_per_ip: host.config("EDGE_RATE_LIMIT_PER_IP"),
        }
    }
}

thread_local! {
    // Every request an isolate serves reads the same variables; parsing them (the public key's
    // point decompression, ~18 µs of a Worker's Wasm, and the admission key's hashing) is done
    // again only when they change.
    static PARSED: RefCell<Option<(Raw, EdgeConfig)>> = const { RefCell::new(None) };
}

impl EdgeConfig {
    pub fn from_host(host: &impl Host) -> Result<Self, EdgeError> {
        let raw = Raw::from_host(host);
        let known = PARSED.with_borrow(|parsed| {
            parsed
                .as_ref()
                .and_then(|(known, config)| (*known == raw).then(|| config.clone()))
        });
        if let Some(config) = known {
            return Ok(config);
        }
        let config = Self::parse(&raw)?;
        PARSED.set(Some((raw, config.clone())));
        Ok(config)
    }

    fn parse(raw: &Raw) -> Result<Self, EdgeError> {
        let core_url = raw
            .core_url
            .as_deref()
            .ok_or_else(|| EdgeError::Config("CORE_URL is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        if !(core_url.starts_with("http://") || core_url.starts_with("https://")) {
            return Err(EdgeError::Config("CORE_URL must be an http(s) URL".into()));
        }
        let key_text = raw
            .jwt_key
            .as_deref()
            .ok_or_else(|| EdgeError::Config("EDGE_JWT_PUBLIC_KEY is not set".into()))?;
        let jwt_key = parse_public_key(key_text)?;
        let core_timeout = match &raw.core_timeout {
            None => DEFAULT_CORE_TIMEOUT,
            Some(ms) => Duration::from_millis(ms.trim().parse().map_err(|_| {
                EdgeError::Config("CORE_TIMEOUT_MS must be a whole number of milliseconds".into())
            })?),
        };
        let edge_secret = raw
            .edge_secret
            .as_deref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let admission_key = raw
            .admission_key
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|secret| {
                AdmissionKey::from_secret(secret)
                    .map_err(|e| EdgeError::Config(format!("ADMISSION_KEY {e}")))
            })
            .transpose()?;
        let rate_limit_per_ip = match &raw.rate_limit_per_ip {
            None => DEFAULT_RATE_LIMIT_PER_IP,
            Some(n) => n.trim().parse().map_err(|_| {
                EdgeError::Config("EDGE_RATE_LIMIT_PER_IP must be a whole number".into())
            })?,
        };
        Ok(EdgeConfig {
            admission_key,
            rate_limit_per_ip,
            core_url,
            jwt_key,
            core_timeout,
            edge_secret,
        })
    }
}

fn parse_public_key(text: &str) -> Result<VerifyingKey, EdgeError> {
    let bad = || EdgeError::Config("EDGE_JWT_PUBLIC_KEY must be 32 bytes of base64url".into());
    let bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::memory_host::MemoryHost;

    fn public_key(seed: u8) -> String {
        URL_SAFE_NO_PAD.encode(
            SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .as_bytes(),
        )
    }

    fn host(core_url: &str, key: &str, admission: &str) -> MemoryHost {
        MemoryHost::new(
            DateTime::UNIX_EPOCH,
            &[
                ("CORE_URL", core_url),
                ("EDGE_JWT_PUBLIC_KEY", key),
                ("ADMISSION_KEY", admission),
            ],
        )
    }

    /// The parsed settings are kept between requests, never past a change of the variables.
    #[test]
    fn settings_follow_their_variables() {
        let admission = "an admission secret of at least 32 characters";
        let first = EdgeConfig::from_host(&host("http://one:8080/", &public_key(1), admission))
            .expect("valid settings");
        assert_eq!(first.core_url, "http://one:8080");
        let again = EdgeConfig::from_host(&host("http://one:8080/", &public_key(1), admission))
            .expect("valid settings");
        assert_eq!(again.jwt_key, first.jwt_key);

        let moved = EdgeConfig::from_host(&host("http://two:8080", &public_key(2), ""))
            .expect("valid settings");
        assert_eq!(moved.core_url, "http://two:8080");
        assert_eq!(
            moved.jwt_key.as_bytes(),
            SigningKey::from_bytes(&[2; 32]).verifying_key().as_bytes()
        );
        assert!(moved.admission_key.is_none());

        let broken = EdgeConfig::from_host(&host("ftp://two", &public_key(2), ""));
        assert!(matches!(broken, Err(EdgeError::Config(_))));
        let short = EdgeConfig::from_host(&host("http://two:8080", &public_key(2), "short"));
        assert!(matches!(short, Err(EdgeError::Config(_))));
    }
}

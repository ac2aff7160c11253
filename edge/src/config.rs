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

impl EdgeConfig {
    pub fn from_host(host: &impl Host) -> Result<Self, EdgeError> {
        let core_url = host
            .config("CORE_URL")
            .ok_or_else(|| EdgeError::Config("CORE_URL is not set".into()))?
            .trim_end_matches('/')
            .to_owned();
        if !(core_url.starts_with("http://") || core_url.starts_with("https://")) {
            return Err(EdgeError::Config("CORE_URL must be an http(s) URL".into()));
        }
        let key_text = host
            .config("EDGE_JWT_PUBLIC_KEY")
            .ok_or_else(|| EdgeError::Config("EDGE_JWT_PUBLIC_KEY is not set".into()))?;
        let jwt_key = decoded_public_key(&key_text)?;
        let core_timeout = match host.config("CORE_TIMEOUT_MS") {
            None => DEFAULT_CORE_TIMEOUT,
            Some(ms) => Duration::from_millis(ms.trim().parse().map_err(|_| {
                EdgeError::Config("CORE_TIMEOUT_MS must be a whole number of milliseconds".into())
            })?),
        };
        let edge_secret = host
            .config("EDGE_SECRET")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let admission_key = host
            .config("ADMISSION_KEY")
            .filter(|s| !s.trim().is_empty())
            .map(|secret| {
                AdmissionKey::from_secret(&secret)
                    .map_err(|e| EdgeError::Config(format!("ADMISSION_KEY {e}")))
            })
            .transpose()?;
        let rate_limit_per_ip = match host.config("EDGE_RATE_LIMIT_PER_IP") {
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

thread_local! {
    // Every request an isolate serves reads the same key text; decoding it (a point
    // decompression) cost ~18 µs of a Worker's Wasm per request.
    static DECODED_KEY: RefCell<Option<(String, VerifyingKey)>> = const { RefCell::new(None) };
}

/// [`parse_public_key`], remembering the last key this thread decoded.
fn decoded_public_key(text: &str) -> Result<VerifyingKey, EdgeError> {
    let known = DECODED_KEY.with_borrow(|decoded| {
        decoded
            .as_ref()
            .and_then(|(known, key)| (known == text).then_some(*key))
    });
    if let Some(key) = known {
        return Ok(key);
    }
    let key = parse_public_key(text)?;
    DECODED_KEY.set(Some((text.to_owned(), key)));
    Ok(key)
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

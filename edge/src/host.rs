//! What the edge needs from the runtime it runs in, and nothing more: each adapter (Workers,
//! Spin) implements this once, and everything above it is the same code on both.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::http::{Method, Response};

/// A request for the regional core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRequest {
    pub method: Method,
    /// The full URL: the core's base URL, path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why the runtime could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("the core did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the core could not be reached: {0}")]
    Unreachable(String),
    #[error("the key-value store failed: {0}")]
    Store(String),
}

/// The runtime's services. Futures need not be `Send`: both Wasm runtimes run one request on
/// one thread, and their handles (JS objects, WASI resources) are not `Send` either.
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The edge cache: fast, per location, may forget anything at any time.
    async fn cache_get(&self, key: &str) -> Option<Vec<u8>>;
    async fn cache_put(&self, key: &str, value: Vec<u8>, ttl: Duration);

    /// The durable key-value store carts live in. A read after a write in the same location
    /// sees the write.
    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    async fn kv_put(&self, key: &str, value: Vec<u8>) -> Result<(), HostError>;
    async fn kv_delete(&self, key: &str) -> Result<(), HostError>;

    /// Sends a request to the core and gives up after `timeout`.
    async fn fetch_core(
        &self,
        request: CoreRequest,
        timeout: Duration,
    ) -> Result<Response, HostError>;

    /// Sends a request to the core without keeping the buyer waiting: the runtime finishes it
    /// after the answer has gone (Workers' `waitUntil`). Its outcome is not reported.
    fn send_in_background(&self, request: CoreRequest, timeout: Duration);

    /// Whether what the edge keeps in memory lives on after this request (a Worker's isolate
    /// serves many), or is gone with it (Spin starts an instance per request).
    fn keeps_state_between_requests(&self) -> bool {
        true
    }

    /// Checks an Ed25519 signature with the runtime's own crypto (WebCrypto in a Worker runs
    /// it natively, several times faster than the same check compiled to Wasm). `None` when the
    /// runtime has none: the edge then checks it itself.
    async fn verify_ed25519(
        &self,
        _public_key: &[u8; 32],
        _message: &[u8],
        _signature: &[u8; 64],
    ) -> Option<bool> {
        None
    }

    fn now(&self) -> DateTime<Utc>;
    /// 16 bytes from a cryptographically secure source (ids a guest must not guess).
    fn random_bytes(&self) -> [u8; 16];
    /// A configuration variable or secret of the runtime (wrangler vars, Spin variables).
    fn config(&self, name: &str) -> Option<String>;
}

//! An in-memory [`Host`] for running the edge natively: a clock that only moves when told, a
//! cache and a key-value store in maps, and a scripted core that records what it was asked.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::host::{CoreRequest, Host, HostError};
use crate::http::Response;

/// A cached value and the moment it stops being served.
type Expiring = (DateTime<Utc>, Vec<u8>);
type CoreAnswer = Box<dyn Fn(&CoreRequest) -> Result<Response, HostError>>;

pub struct MemoryHost {
    now: RefCell<DateTime<Utc>>,
    cache: RefCell<HashMap<String, Expiring>>,
    kv: RefCell<HashMap<String, Vec<u8>>>,
    kv_reads: RefCell<Vec<String>>,
    config: HashMap<String, String>,
    core: RefCell<CoreAnswer>,
    core_calls: RefCell<Vec<CoreRequest>>,
    background_calls: RefCell<Vec<CoreRequest>>,
    next_random: RefCell<u8>,
    crypto: RefCell<bool>,
    signature_checks: RefCell<usize>,
}

impl MemoryHost {
    pub fn new(now: DateTime<Utc>, config: &[(&str, &str)]) -> Self {
        MemoryHost {
            now: RefCell::new(now),
            cache: RefCell::default(),
            kv: RefCell::default(),
            kv_reads: RefCell::default(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            core: RefCell::new(Box::new(|_| {
                Err(HostError::Unreachable("no core in this test".into()))
            })),
            core_calls: RefCell::default(),
            background_calls: RefCell::default(),
            next_random: RefCell::new(1),
            crypto: RefCell::new(true),
            signature_checks: RefCell::default(),
        }
    }

    /// How the core answers from now on.
    pub fn set_core(&self, answer: impl Fn(&CoreRequest) -> Result<Response, HostError> + 'static) {
        *self.core.borrow_mut() = Box::new(answer);
    }

    /// Whether the host checks Ed25519 signatures itself (a Worker's WebCrypto does; with
    /// `false` it has none, and the edge checks them in Wasm).
    pub fn set_crypto(&self, has_ed25519: bool) {
        *self.crypto.borrow_mut() = has_ed25519;
    }

    /// How many signatures the host's own crypto checked.
    pub fn signature_checks(&self) -> usize {
        *self.signature_checks.borrow()
    }

    pub fn advance(&self, by: chrono::TimeDelta) {
        let mut now = self.now.borrow_mut();
        *now += by;
    }

    /// Every request the core received, oldest first.
    pub fn core_calls(&self) -> Vec<CoreRequest> {
        self.core_calls.borrow().clone()
    }

    /// Every request sent in the background (cart snapshots), oldest first. They are recorded,
    /// not sent: the buyer's answer never depends on them.
    pub fn background_calls(&self) -> Vec<CoreRequest> {
        self.background_calls.borrow().clone()
    }

    /// Every key the edge looked up in the key-value store, oldest first.
    pub fn kv_reads(&self) -> Vec<String> {
        self.kv_reads.borrow().clone()
    }

    pub fn kv_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.kv.borrow().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl Host for MemoryHost {
    async fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let now = *self.now.borrow();
        self.cache
            .borrow()
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, value)| value.clone())
    }

    async fn cache_put(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let until = *self.now.borrow()
            + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::zero());
        self.cache
            .borrow_mut()
            .insert(key.to_owned(), (until, value));
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        self.kv_reads.borrow_mut().push(key.to_owned());
        Ok(self.kv.borrow().get(key).cloned())
    }

    async fn kv_put(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        self.kv.borrow_mut().insert(key.to_owned(), value);
        Ok(())
    }

    async fn kv_delete(&self, key: &str) -> Result<(), HostError> {
        self.kv.borrow_mut().remove(key);
        Ok(())
    }

    async fn fetch_core(
        &self,
        request: CoreRequest,
        _timeout: Duration,
    ) -> Result<Response, HostError> {
        self.core_calls.borrow_mut().push(request.clone());
        (self.core.borrow())(&request)
    }

    fn send_in_background(&self, request: CoreRequest, _timeout: Duration) {
        self.background_calls.borrow_mut().push(request);
    }

    async fn verify_ed25519(
        &self,
        public_key: &[u8; 32],
        message: &[u8],
        signature: &[u8; 64],
    ) -> Option<bool> {
        if !*self.crypto.borrow() {
            return None;
        }
        *self.signature_checks.borrow_mut() += 1;
        // RFC 8032's check, as WebCrypto does it.
        let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).ok()?;
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        Some(ed25519_dalek::Verifier::verify(&key, message, &signature).is_ok())
    }

    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut next = self.next_random.borrow_mut();
        *next = next.wrapping_add(1);
        [*next; 16]
    }

    fn config(&self, name: &str) -> Option<String> {
        self.config.get(name).cloned()
    }
}

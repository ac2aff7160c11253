//! The in-memory store behind one gateway instance: charges (with their refunds) and the
//! idempotency records, all behind one `Mutex` so "check the key, then create the charge" is
//! atomic. Nothing is persisted: a restart forgets every charge, refund and idempotency key.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::GatewayConfig;
use crate::idempotency::IdempotencyStore;
use crate::money::Amount;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub id: String,
    pub object: &'static str,
    pub amount: Amount,
    pub currency: String,
    pub status: ChargeStatus,
    pub captured: bool,
    /// True once `amount_refunded` reaches `amount` (Stripe's field).
    pub refunded: bool,
    pub source: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub idempotency_key: String,
    pub created: i64,
    pub amount_refunded: Amount,
    pub refunds: Vec<Refund>,
    /// Why a failed charge failed (`card_declined`, the decline code and its message); all
    /// null when it succeeded, so reconciliation can tell a decline from insufficient funds.
    pub failure_code: Option<&'static str>,
    pub decline_code: Option<&'static str>,
    pub failure_message: Option<&'static str>,
}

impl Charge {
    /// What is left to refund; zero for a failed charge.
    pub fn refundable(&self) -> Amount {
        match self.status {
            ChargeStatus::Succeeded => self
                .amount
                .checked_sub(self.amount_refunded)
                .unwrap_or(Amount::ZERO),
            ChargeStatus::Failed => Amount::ZERO,
        }
    }

    /// Records a refund the caller has already checked against `refundable()`.
    pub fn add_refund(&mut self, refund: Refund) {
        self.amount_refunded = self
            .amount_refunded
            .checked_add(refund.amount)
            .unwrap_or(self.amount);
        self.refunded = self.amount_refunded >= self.amount;
        self.refunds.push(refund);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    RequestedByCustomer,
    Duplicate,
    Fraudulent,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub object: &'static str,
    pub charge: String,
    pub amount: Amount,
    pub currency: String,
    pub status: &'static str,
    pub reason: Option<RefundReason>,
    pub created: i64,
}

#[derive(Debug, Default)]
pub struct Store {
    /// In creation order; listing walks it backwards for "newest first".
    charges: Vec<Charge>,
    by_id: HashMap<String, usize>,
    by_idempotency_key: HashMap<String, usize>,
    pub idempotency: IdempotencyStore,
}

impl Store {
    pub fn insert_charge(&mut self, charge: Charge) {
        let index = self.charges.len();
        self.by_id.insert(charge.id.clone(), index);
        self.by_idempotency_key
            .insert(charge.idempotency_key.clone(), index);
        self.charges.push(charge);
    }

    pub fn charge(&self, id: &str) -> Option<&Charge> {
        self.by_id.get(id).and_then(|&i| self.charges.get(i))
    }

    pub fn charge_mut(&mut self, id: &str) -> Option<&mut Charge> {
        self.by_id.get(id).and_then(|&i| self.charges.get_mut(i))
    }

    /// A key creates at most one charge (validation failures create none), so this is 0 or 1.
    pub fn charge_by_idempotency_key(&self, key: &str) -> Option<&Charge> {
        self.by_idempotency_key
            .get(key)
            .and_then(|&i| self.charges.get(i))
    }

    pub fn charges_newest_first(&self) -> impl Iterator<Item = &Charge> {
        self.charges.iter().rev()
    }
}

/// Shared handle given to every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: GatewayConfig,
    store: Mutex<Store>,
    /// Flipped when the server begins a graceful shutdown, so a `tok_timeout` sleep does not
    /// hold the process up for its whole delay.
    shutdown: watch::Sender<bool>,
}

impl AppState {
    pub fn new(config: GatewayConfig) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                config,
                store: Mutex::new(Store::default()),
                shutdown: watch::Sender::new(false),
            }),
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// Never held across an `.await`. A poisoned lock is taken over: every mutation leaves the
    /// store consistent before anything could panic, so the data is still good.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Sleeps for `delay`, or less if a graceful shutdown starts meanwhile.
    pub async fn sleep_unless_shutting_down(&self, delay: Duration) {
        let mut shutdown = self.inner.shutdown.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
    }
}

/// `prefix` + 24 random hex digits, like `ch_3f9a...`.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

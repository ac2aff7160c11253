//! Idempotency of unsafe requests (seed 7.7, the brief's rules).
//!
//! A POST that carries an `Idempotency-Key` is recorded with a hash of the request before it
//! runs. The same key with the same request replays the stored answer; with another request it
//! is refused (422); while the first is still running, a duplicate gets 409. Keys live 24 hours.
//! Failures on our side (5xx) are not stored, so the client's retry runs again.

pub mod batching;
mod key;
pub mod middleware;
pub mod store;

pub use batching::IdempotencyKeys;
pub use key::IdempotencyKey;
pub use middleware::idempotency;

/// How long a key is remembered.
pub const KEY_TTL_HOURS: i64 = 24;

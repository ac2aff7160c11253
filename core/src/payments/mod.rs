//! The payments context: talking to the card gateway (retries, circuit breaker, outcomes) and,
//! later, the payments store and routes. The gateway client never decides what a payment's
//! status is; it reports what the gateway said, or that nobody knows yet.

mod breaker;
mod clock;
mod gateway;
mod interpret;
mod outcome;
mod retry;
mod wire;

pub use breaker::{BreakerSettings, BreakerState, CircuitBreaker, Permit, Rejected};
pub use clock::{Clock, ManualClock, SystemClock};
pub use gateway::{GatewayClient, GatewaySettings};
pub use outcome::{ChargeOutcome, GatewayError, RefundOutcome, UnknownReason};
pub use retry::RetryPolicy;
pub use wire::{Charge, ChargeStatus, Refund, RefundReason, RefundStatus};

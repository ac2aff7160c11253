//! What a call to the card gateway came to, as the payments context sees it: captured,
//! declined, refunded, refused, or unknown (money may have moved; reconciliation asks later).
//! Errors are kept for our own mistakes and for answers nobody can read.

use std::fmt;

use super::wire::{Charge, Refund};

/// What became of a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken.
    Captured(Charge),
    /// The gateway refused the card; no money moved. `retryable`: the buyer may try again with
    /// another card (ordinary declines, insufficient funds), as opposed to a source the gateway
    /// does not know or a decline that suggests fraud.
    Declined {
        code: String,
        decline_code: Option<String>,
        message: String,
        retryable: bool,
        /// The failed charge's id, when the gateway recorded one.
        charge_id: Option<String>,
    },
    /// Nobody knows whether money moved: mark the payment PENDING and let reconciliation ask
    /// the gateway by idempotency key later.
    Unknown { reason: UnknownReason },
}

/// What became of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded(Refund),
    /// The gateway refused (e.g. `amount_too_large`, `charge_not_refundable`,
    /// `charge_already_refunded`, `resource_missing`); nothing changed.
    Refused {
        code: String,
        message: String,
    },
    /// Nobody knows whether the refund happened: ask again later with the same key.
    Unknown {
        reason: UnknownReason,
    },
}

/// Why an outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownReason {
    /// The circuit breaker refused the call. `attempts_sent` is 0 when the breaker was already
    /// open, so nothing reached the network.
    BreakerOpen { attempts_sent: u32 },
    /// Every attempt timed out, failed to connect or got a 5xx/429.
    AttemptsExhausted { attempts: u32, last_error: String },
    /// The gateway says a request with this key is still being processed (409).
    StillProcessing,
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BreakerOpen { attempts_sent } => write!(
                f,
                "circuit breaker open (after {attempts_sent} attempt(s) sent)"
            ),
            Self::AttemptsExhausted {
                attempts,
                last_error,
            } => write!(f, "all {attempts} attempt(s) failed; last: {last_error}"),
            Self::StillProcessing => f.write_str("the gateway is still processing this key"),
        }
    }
}

/// Programming or configuration errors, and answers this client cannot read. Outcomes of a
/// payment (declines, refusals, not knowing) are never errors.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("payment gateway settings are invalid: {0}")]
    Config(String),
    #[error("invalid argument for the payment gateway: {0}")]
    InvalidArgument(String),
    #[error("the payment gateway refused our credentials (HTTP {status})")]
    Unauthorized { status: u16 },
    #[error("idempotency key {key:?} was already used with different parameters")]
    IdempotencyKeyReused { key: String },
    /// A 4xx this client did not expect: the request itself was wrong.
    #[error("the payment gateway rejected the request (HTTP {status}, {kind}/{code}): {message}")]
    Rejected {
        status: u16,
        kind: String,
        code: String,
        message: String,
    },
    /// An answer that cannot be read. For a charge with a 2xx this means money may have moved.
    #[error("unexpected answer from the payment gateway (HTTP {status}): {detail}")]
    UnexpectedAnswer { status: u16, detail: String },
    /// Only from lookups (`find_charge`): the gateway could not be asked. Try again later.
    #[error("the payment gateway could not be asked: {0}")]
    Unavailable(UnknownReason),
}

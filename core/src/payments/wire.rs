//! The gateway's JSON as Rust types: charges, refunds and error bodies (Stripe-like, snake_case).
//! Amounts travel as decimal strings and are parsed straight into `Decimal`; a JSON number in an
//! amount field is refused rather than read through a float.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// A charge as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(deserialize_with = "decimal_string")]
    pub amount: Decimal,
    pub currency: String,
    pub status: ChargeStatus,
    pub captured: bool,
    #[serde(default)]
    pub refunded: bool,
    pub source: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub idempotency_key: String,
    #[serde(with = "chrono::serde::ts_seconds")]
    pub created: DateTime<Utc>,
    #[serde(deserialize_with = "decimal_string")]
    pub amount_refunded: Decimal,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// Why a failed charge failed; reconciliation reads these for a charge found by key.
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub failure_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Failed,
    /// A status this client does not know; treated as "not captured".
    #[serde(other)]
    Unrecognized,
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    pub id: String,
    pub charge: String,
    #[serde(deserialize_with = "decimal_string")]
    pub amount: Decimal,
    pub currency: String,
    pub status: RefundStatus,
    #[serde(default)]
    pub reason: Option<RefundReason>,
    #[serde(with = "chrono::serde::ts_seconds")]
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Succeeded,
    Pending,
    Failed,
    #[serde(other)]
    Unrecognized,
}

/// Why a refund is made (Stripe's three reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    RequestedByCustomer,
    Duplicate,
    Fraudulent,
}

/// `{"error": {...}}`, the body of every non-2xx answer.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// The failed charge's id, on card errors.
    #[serde(default)]
    pub charge: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChargeList {
    pub data: Vec<Charge>,
}

/// The body of `POST /v1/charges`.
#[derive(Debug, Serialize)]
pub(crate) struct ChargeRequest<'a> {
    pub amount: String,
    pub currency: &'a str,
    pub source: &'a str,
    pub description: &'a str,
    /// A `BTreeMap`, so the same metadata always serialises to the same bytes.
    pub metadata: &'a BTreeMap<String, String>,
}

/// The body of `POST /v1/refunds`.
#[derive(Debug, Serialize)]
pub(crate) struct RefundRequest<'a> {
    pub charge: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefundReason>,
}

/// The wire form of an amount: plain decimal digits, trailing zeros dropped ("12.30" → "12.3").
/// Done here rather than by `Decimal`'s serde support, whose format depends on crate features
/// any other crate in the build may switch on (some of them emit floats).
pub(crate) fn amount_to_wire(amount: Decimal) -> String {
    amount.normalize().to_string()
}

/// Reads a decimal string exactly; a JSON number (which a float may already have rounded) or
/// a string that does not fit a `Decimal` exactly is an error.
fn decimal_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an amount as a decimal string such as \"12.34\"")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Decimal, E> {
            Decimal::from_str_exact(text)
                .map_err(|err| E::custom(format!("amount {text:?} is not a decimal: {err}")))
        }
    }
    deserializer.deserialize_str(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn charge_json() -> serde_json::Value {
        json!({
            "id": "ch_1", "object": "charge", "amount": "12.34", "currency": "USD",
            "status": "succeeded", "captured": true, "refunded": false, "source": "tok_visa",
            "description": null, "metadata": {"order_id": "o-1"}, "idempotency_key": "k1",
            "created": 1_700_000_000, "amount_refunded": "5.00",
            "refunds": [{"id": "re_1", "object": "refund", "charge": "ch_1", "amount": "5.00",
                         "currency": "USD", "status": "succeeded", "reason": "duplicate",
                         "created": 1_700_000_001}],
            "failure_code": null, "decline_code": null, "failure_message": null,
            "some_future_field": {"ignored": true}
        })
    }

    #[test]
    fn a_charge_parses_with_exact_decimal_amounts() {
        let charge: Charge = serde_json::from_value(charge_json()).unwrap();
        assert_eq!(charge.amount, dec!(12.34));
        assert_eq!(charge.amount_refunded, dec!(5.00));
        assert_eq!(charge.status, ChargeStatus::Succeeded);
        assert_eq!(charge.metadata["order_id"], "o-1");
        assert_eq!(charge.created.timestamp(), 1_700_000_000);
        assert_eq!(charge.refunds[0].amount, dec!(5));
        assert_eq!(charge.refunds[0].reason, Some(RefundReason::Duplicate));
    }

    #[test]
    fn amounts_as_json_numbers_are_refused() {
        let mut value = charge_json();
        value["amount"] = json!(12.34);
        let err = serde_json::from_value::<Charge>(value).unwrap_err();
        assert!(err.to_string().contains("decimal string"), "{err}");
    }

    #[test]
    fn amounts_that_are_not_exact_decimals_are_refused() {
        for bad in [
            "",
            "abc",
            "1e3",
            "12.34.5",
            "99999999999999999999999999999999",
        ] {
            let mut value = charge_json();
            value["amount"] = json!(bad);
            assert!(serde_json::from_value::<Charge>(value).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_statuses_do_not_fail_parsing() {
        let mut value = charge_json();
        value["status"] = json!("requires_action");
        let charge: Charge = serde_json::from_value(value).unwrap();
        assert_eq!(charge.status, ChargeStatus::Unrecognized);
    }

    #[test]
    fn amounts_go_out_as_plain_decimal_strings() {
        assert_eq!(amount_to_wire(dec!(12.34)), "12.34");
        assert_eq!(amount_to_wire(dec!(12.30)), "12.3");
        assert_eq!(amount_to_wire(dec!(12.000)), "12");
        assert_eq!(amount_to_wire(dec!(0.01)), "0.01");
        let body = RefundRequest {
            charge: "ch_1",
            amount: None,
            reason: Some(RefundReason::RequestedByCustomer),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"charge": "ch_1", "reason": "requested_by_customer"})
        );
    }
}

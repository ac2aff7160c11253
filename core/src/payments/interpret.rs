//! Turns the gateway's answers (2xx and 4xx; retried failures never get here) into outcomes:
//! which 4xx are a buyer's decline or a refused refund, and which are our own mistakes.
//! Pure functions over status and body, unit-tested without a network.

use bytes::Bytes;
use reqwest::StatusCode;

use super::outcome::{ChargeOutcome, GatewayError, RefundOutcome, UnknownReason};
use super::wire::{Charge, ChargeStatus, ErrorEnvelope};

/// An HTTP answer that was not retried: 2xx or 4xx (other than 429).
pub(super) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

pub(super) fn charge_outcome(answer: Answer, key: &str) -> Result<ChargeOutcome, GatewayError> {
    if answer.status.is_success() {
        let charge: Charge = parse(&answer)?;
        if charge.status == ChargeStatus::Succeeded && charge.captured {
            return Ok(ChargeOutcome::Captured(charge));
        }
        return Err(GatewayError::UnexpectedAnswer {
            status: answer.status.as_u16(),
            detail: format!(
                "charge {} answered with status {:?}, captured {}",
                charge.id, charge.status, charge.captured
            ),
        });
    }
    if answer.status == StatusCode::CONFLICT {
        return Ok(ChargeOutcome::Unknown {
            reason: UnknownReason::StillProcessing,
        });
    }
    let Ok(ErrorEnvelope { error }) = serde_json::from_slice::<ErrorEnvelope>(&answer.body) else {
        return Err(unexpected_error(&answer, key));
    };
    let code = error.code.clone().unwrap_or_default();
    let declined = if error.kind == "card_error" {
        Some(is_retryable_decline(error.decline_code.as_deref()))
    } else if error.kind == "invalid_request_error" && code == "invalid_source" {
        // The gateway does not know the card: another card may work, this source never will,
        // and it points at a bug or tampering upstream, so no automatic invitation to retry.
        Some(false)
    } else {
        None
    };
    match declined {
        Some(retryable) => Ok(ChargeOutcome::Declined {
            code,
            decline_code: error.decline_code,
            message: error.message.unwrap_or_default(),
            retryable,
            charge_id: error.charge,
        }),
        None => Err(unexpected_error(&answer, key)),
    }
}

/// Declines a buyer may answer with another card. Declines that suggest a stolen or fraudulent
/// card are not invited to try again.
fn is_retryable_decline(decline_code: Option<&str>) -> bool {
    !matches!(
        decline_code,
        Some("fraudulent" | "lost_card" | "stolen_card" | "pickup_card")
    )
}

pub(super) fn refund_outcome(answer: Answer, key: &str) -> Result<RefundOutcome, GatewayError> {
    if answer.status.is_success() {
        return parse(&answer).map(RefundOutcome::Refunded);
    }
    if answer.status == StatusCode::CONFLICT {
        return Ok(RefundOutcome::Unknown {
            reason: UnknownReason::StillProcessing,
        });
    }
    if let Ok(ErrorEnvelope { error }) = serde_json::from_slice::<ErrorEnvelope>(&answer.body)
        && error.kind == "invalid_request_error"
        && let Some(code) = error.code.as_deref()
        && matches!(
            code,
            "amount_too_large"
                | "charge_not_refundable"
                | "charge_already_refunded"
                | "resource_missing"
        )
    {
        return Ok(RefundOutcome::Refused {
            code: code.to_owned(),
            message: error.message.unwrap_or_default(),
        });
    }
    Err(unexpected_error(&answer, key))
}

/// The error for a 4xx that is not an outcome.
pub(super) fn unexpected_error(answer: &Answer, key: &str) -> GatewayError {
    let status = answer.status.as_u16();
    if matches!(
        answer.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        return GatewayError::Unauthorized { status };
    }
    match serde_json::from_slice::<ErrorEnvelope>(&answer.body) {
        Ok(ErrorEnvelope { error }) if error.kind == "idempotency_error" => {
            GatewayError::IdempotencyKeyReused {
                key: key.to_owned(),
            }
        }
        Ok(ErrorEnvelope { error }) => GatewayError::Rejected {
            status,
            kind: error.kind,
            code: error.code.unwrap_or_default(),
            message: error.message.unwrap_or_default(),
        },
        Err(_) => GatewayError::UnexpectedAnswer {
            status,
            detail: snippet(&answer.body),
        },
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, GatewayError> {
    serde_json::from_slice(&answer.body).map_err(|err| GatewayError::UnexpectedAnswer {
        status: answer.status.as_u16(),
        detail: format!("{err}; body: {}", snippet(&answer.body)),
    })
}

/// The start of a body, for messages.
pub(super) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn card_error(decline_code: &str) -> serde_json::Value {
        json!({"error": {"type": "card_error", "code": "card_declined",
            "decline_code": decline_code, "message": "Your card was declined.", "charge": "ch_9"}})
    }

    #[test]
    fn card_declines_are_outcomes_a_buyer_may_retry_with_another_card() {
        for code in ["generic_decline", "insufficient_funds"] {
            let outcome = charge_outcome(answer(402, card_error(code)), "k").unwrap();
            assert_eq!(
                outcome,
                ChargeOutcome::Declined {
                    code: "card_declined".into(),
                    decline_code: Some(code.into()),
                    message: "Your card was declined.".into(),
                    retryable: true,
                    charge_id: Some("ch_9".into()),
                }
            );
        }
        let stolen = charge_outcome(answer(402, card_error("stolen_card")), "k").unwrap();
        assert!(matches!(
            stolen,
            ChargeOutcome::Declined {
                retryable: false,
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_source_is_a_final_decline() {
        let body = json!({"error": {"type": "invalid_request_error", "code": "invalid_source",
            "message": "No such source"}});
        let outcome = charge_outcome(answer(400, body), "k").unwrap();
        assert!(matches!(
            outcome,
            ChargeOutcome::Declined { ref code, retryable: false, .. } if code == "invalid_source"
        ));
    }

    #[test]
    fn other_client_errors_are_programming_errors() {
        let body = json!({"error": {"type": "invalid_request_error", "code": "amount_invalid",
            "message": "amount may have at most 2 decimals"}});
        let err = charge_outcome(answer(400, body), "k").unwrap_err();
        assert!(
            matches!(err, GatewayError::Rejected { status: 400, ref code, .. } if code == "amount_invalid")
        );
        let reused = json!({"error": {"type": "idempotency_error",
            "code": "idempotency_key_reused", "message": "..."}});
        assert!(matches!(
            charge_outcome(answer(400, reused), "k1").unwrap_err(),
            GatewayError::IdempotencyKeyReused { ref key } if key == "k1"
        ));
        let auth = json!({"error": {"type": "authentication_error", "code": "invalid_api_key"}});
        assert!(matches!(
            charge_outcome(answer(401, auth), "k").unwrap_err(),
            GatewayError::Unauthorized { status: 401 }
        ));
        assert!(matches!(
            charge_outcome(answer(400, json!("not an error body")), "k").unwrap_err(),
            GatewayError::UnexpectedAnswer { status: 400, .. }
        ));
    }

    #[test]
    fn a_conflict_means_the_outcome_is_not_known_yet() {
        let outcome = charge_outcome(answer(409, json!({})), "k").unwrap();
        assert_eq!(
            outcome,
            ChargeOutcome::Unknown {
                reason: UnknownReason::StillProcessing
            }
        );
    }

    #[test]
    fn a_success_that_is_not_a_capture_is_not_taken_for_one() {
        let body = json!({"id": "ch_1", "amount": "1.00", "currency": "USD", "status": "pending",
            "captured": false, "source": "tok_visa", "idempotency_key": "k", "created": 1,
            "amount_refunded": "0.00"});
        assert!(matches!(
            charge_outcome(answer(200, body), "k").unwrap_err(),
            GatewayError::UnexpectedAnswer { status: 200, .. }
        ));
        assert!(matches!(
            charge_outcome(answer(200, json!({"id": 1})), "k").unwrap_err(),
            GatewayError::UnexpectedAnswer { status: 200, .. }
        ));
    }

    #[test]
    fn refund_refusals_are_outcomes() {
        for (status, code) in [
            (400, "amount_too_large"),
            (400, "charge_not_refundable"),
            (400, "charge_already_refunded"),
            (404, "resource_missing"),
        ] {
            let body = json!({"error": {"type": "invalid_request_error", "code": code,
                "message": "no"}});
            assert_eq!(
                refund_outcome(answer(status, body), "k").unwrap(),
                RefundOutcome::Refused {
                    code: code.into(),
                    message: "no".into()
                }
            );
        }
        let body = json!({"error": {"type": "invalid_request_error", "code": "body_invalid"}});
        assert!(refund_outcome(answer(400, body), "k").is_err());
    }
}

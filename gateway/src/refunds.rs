//! `POST /v1/refunds`: full or partial refunds of a captured charge, never more than what is
//! left of it. Same idempotency rules as charges, with keys scoped to this endpoint; only a
//! refund that was made is stored under its key (refusals change nothing and are not).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body;
use crate::charges::to_json;
use crate::error::ApiError;
use crate::idempotency::{self, Scope, StoredResponse};
use crate::money::Amount;
use crate::state::{AppState, ChargeStatus, Refund, RefundReason, new_id, now_unix};

const PATH: &str = "/v1/refunds";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    charge: Option<Value>,
    amount: Option<Value>,
    reason: Option<RefundReason>,
}

#[derive(Debug)]
struct RefundRequest {
    charge: String,
    /// None: refund whatever is left of the charge.
    amount: Option<Amount>,
    reason: Option<RefundReason>,
}

impl RefundRequest {
    fn validate(body: RefundBody) -> Result<RefundRequest, ApiError> {
        let charge = match body.charge {
            Some(Value::String(charge)) if !charge.is_empty() => charge,
            Some(_) => {
                return Err(ApiError::BodyInvalid(
                    "charge must be a charge id such as \"ch_...\"".into(),
                ));
            }
            None => return Err(ApiError::BodyInvalid("charge is required".into())),
        };
        let amount = body
            .amount
            .as_ref()
            .map(|value| Amount::from_json(value, "amount"))
            .transpose()?;
        Ok(RefundRequest {
            charge,
            amount,
            reason: body.reason,
        })
    }

    fn canonical(&self) -> Value {
        let mut canonical = Map::new();
        canonical.insert("charge".into(), self.charge.clone().into());
        canonical.insert("amount".into(), self.amount.map(|a| a.to_string()).into());
        canonical.insert(
            "reason".into(),
            self.reason
                .map(|reason| match reason {
                    RefundReason::RequestedByCustomer => "requested_by_customer",
                    RefundReason::Duplicate => "duplicate",
                    RefundReason::Fraudulent => "fraudulent",
                })
                .into(),
        );
        Value::Object(canonical)
    }
}

/// `POST /v1/refunds`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let key = idempotency::key_from_headers(&headers)?;
    let request = RefundRequest::validate(body::parse_json(body)?)?;
    let fingerprint = idempotency::fingerprint("POST", PATH, &request.canonical());

    // One lock for the key check, the balance check and the refund, so concurrent refunds of
    // one charge cannot together exceed it.
    let mut store = state.lock();
    if let Some(stored) = store
        .idempotency
        .lookup(Scope::Refunds, &key, &fingerprint)?
    {
        tracing::info!(idempotency_key = %key, "refund request replayed");
        return Ok(stored.replay());
    }
    let charge = store.charge_mut(&request.charge).ok_or_else(|| {
        ApiError::ResourceMissing(format!("No such charge: {:?}", request.charge))
    })?;
    if charge.status != ChargeStatus::Succeeded {
        return Err(ApiError::ChargeNotRefundable(charge.id.clone()));
    }
    let refundable = charge.refundable();
    let amount = match request.amount {
        Some(amount) if amount > refundable => {
            return Err(ApiError::AmountTooLarge(format!(
                "Refund amount ({amount} {currency}) is greater than what is left to refund on \
                 charge {id} ({refundable} {currency}).",
                currency = charge.currency,
                id = charge.id,
            )));
        }
        Some(amount) => amount,
        None if refundable.is_zero() => {
            return Err(ApiError::ChargeAlreadyRefunded(charge.id.clone()));
        }
        None => refundable,
    };
    let refund = Refund {
        id: new_id("re_"),
        object: "refund",
        charge: charge.id.clone(),
        amount,
        currency: charge.currency.clone(),
        status: "succeeded",
        reason: request.reason,
        created: now_unix(),
    };
    let stored = StoredResponse {
        status: StatusCode::OK,
        body: to_json(&refund)?,
    };
    tracing::info!(refund = %refund.id, charge = %refund.charge, amount = %refund.amount, idempotency_key = %key, "refund created");
    charge.add_refund(refund);
    store
        .idempotency
        .remember(Scope::Refunds, key, fingerprint, stored.clone());
    Ok(stored.first())
}

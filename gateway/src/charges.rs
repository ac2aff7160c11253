//! `/v1/charges`: create (behaviour chosen by the test token in `source`), retrieve, list.
//! A charge is created and its key's answer stored under one lock; only the `tok_timeout`
//! sleep happens outside it, so the charge exists before the slow answer goes out.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::body;
use crate::error::{ApiError, Decline};
use crate::idempotency::{self, Scope, StoredResponse};
use crate::money::{self, Amount};
use crate::state::{AppState, Charge, ChargeStatus, new_id, now_unix};

const PATH: &str = "/v1/charges";
const MAX_DESCRIPTION_CHARS: usize = 1000;
// Stripe's metadata limits.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_CHARS: usize = 40;
const MAX_METADATA_VALUE_CHARS: usize = 500;

/// The card-network-like test tokens the sandbox understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestToken {
    Visa,
    ChargeDeclined,
    InsufficientFunds,
    Timeout,
    ErrorAfterCapture,
}

impl TestToken {
    const ALL: [TestToken; 5] = [
        TestToken::Visa,
        TestToken::ChargeDeclined,
        TestToken::InsufficientFunds,
        TestToken::Timeout,
        TestToken::ErrorAfterCapture,
    ];

    fn as_str(self) -> &'static str {
        match self {
            TestToken::Visa => "tok_visa",
            TestToken::ChargeDeclined => "tok_chargeDeclined",
            TestToken::InsufficientFunds => "tok_insufficientFunds",
            TestToken::Timeout => "tok_timeout",
            TestToken::ErrorAfterCapture => "tok_errorAfterCapture",
        }
    }

    fn decline(self) -> Option<Decline> {
        match self {
            TestToken::ChargeDeclined => Some(Decline::Generic),
            TestToken::InsufficientFunds => Some(Decline::InsufficientFunds),
            TestToken::Visa | TestToken::Timeout | TestToken::ErrorAfterCapture => None,
        }
    }

    fn from_json(value: Option<&Value>) -> Result<TestToken, ApiError> {
        let known = || {
            TestToken::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match value {
            Some(Value::String(source)) => TestToken::ALL
                .into_iter()
                .find(|t| t.as_str() == source)
                .ok_or_else(|| {
                    ApiError::InvalidSource(format!(
                        "No such source: {source:?}; the sandbox accepts {}",
                        known()
                    ))
                }),
            Some(_) => Err(ApiError::InvalidSource("source must be a string".into())),
            None => Err(ApiError::InvalidSource(format!(
                "source is required: one of {}",
                known()
            ))),
        }
    }
}

/// The body as sent. Amount, currency and source are kept as raw JSON so a wrong type gets the
/// field's own error code (a JSON number amount is `amount_invalid`, not `body_invalid`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeBody {
    amount: Option<Value>,
    currency: Option<Value>,
    source: Option<Value>,
    description: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
}

/// A validated charge request.
#[derive(Debug)]
struct ChargeRequest {
    amount: Amount,
    currency: String,
    source: TestToken,
    description: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl ChargeRequest {
    fn validate(body: ChargeBody) -> Result<ChargeRequest, ApiError> {
        let amount = match &body.amount {
            Some(value) => Amount::from_json(value, "amount")?,
            None => return Err(ApiError::AmountInvalid("amount is required".into())),
        };
        let currency = match &body.currency {
            Some(value) => money::parse_currency(value)?,
            None => return Err(ApiError::CurrencyInvalid("currency is required".into())),
        };
        let source = TestToken::from_json(body.source.as_ref())?;
        if let Some(description) = &body.description
            && description.chars().count() > MAX_DESCRIPTION_CHARS
        {
            return Err(ApiError::BodyInvalid(format!(
                "description may have at most {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        let metadata = body.metadata.unwrap_or_default();
        if metadata.len() > MAX_METADATA_KEYS {
            return Err(ApiError::BodyInvalid(format!(
                "metadata may have at most {MAX_METADATA_KEYS} keys"
            )));
        }
        for (key, value) in &metadata {
            let key_chars = key.chars().count();
            if key_chars == 0 || key_chars > MAX_METADATA_KEY_CHARS {
                return Err(ApiError::BodyInvalid(format!(
                    "metadata keys must have 1-{MAX_METADATA_KEY_CHARS} characters"
                )));
            }
            if value.chars().count() > MAX_METADATA_VALUE_CHARS {
                return Err(ApiError::BodyInvalid(format!(
                    "metadata values may have at most {MAX_METADATA_VALUE_CHARS} characters"
                )));
            }
        }
        Ok(ChargeRequest {
            amount,
            currency,
            source,
            description: body.description,
            metadata,
        })
    }

    /// The normalised request the idempotency fingerprint is taken over.
    fn canonical(&self) -> Value {
        let metadata = self
            .metadata
            .iter()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect();
        let mut canonical = Map::new();
        canonical.insert("amount".into(), self.amount.to_string().into());
        canonical.insert("currency".into(), self.currency.clone().into());
        canonical.insert("source".into(), self.source.as_str().into());
        canonical.insert("description".into(), self.description.clone().into());
        canonical.insert("metadata".into(), Value::Object(metadata));
        Value::Object(canonical)
    }
}

/// `POST /v1/charges`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let key = idempotency::key_from_headers(&headers)?;
    let request = ChargeRequest::validate(body::parse_json(body)?)?;
    let fingerprint = idempotency::fingerprint("POST", PATH, &request.canonical());

    // Check the key and create the charge under one lock: two concurrent requests with one new
    // key cannot both get past `lookup`, so each capture happens exactly once.
    let stored = {
        let mut store = state.lock();
        if let Some(stored) = store
            .idempotency
            .lookup(Scope::Charges, &key, &fingerprint)?
        {
            tracing::info!(idempotency_key = %key, "charge request replayed");
            return Ok(stored.replay());
        }
        let charge = new_charge(&request, &key);
        let charge_json = to_json(&charge)?;
        let stored = match request.source.decline() {
            None => StoredResponse {
                status: StatusCode::OK,
                body: charge_json,
            },
            Some(decline) => {
                let declined = ApiError::CardDeclined {
                    decline,
                    charge: charge.id.clone(),
                };
                StoredResponse {
                    status: declined.status(),
                    body: declined.body(),
                }
            }
        };
        tracing::info!(
            charge = %charge.id,
            source = request.source.as_str(),
            status = ?charge.status,
            amount = %charge.amount,
            idempotency_key = %key,
            "charge created"
        );
        store.insert_charge(charge);
        store
            .idempotency
            .remember(Scope::Charges, key, fingerprint, stored.clone());
        stored
    };

    match request.source {
        // Captured and stored already; answer only after the client has (probably) given up.
        TestToken::Timeout => {
            state
                .sleep_unless_shutting_down(state.config().timeout_token_delay)
                .await;
            Ok(stored.first())
        }
        // Captured and stored as a success, but this first answer is a failure: the client must
        // not conclude "not charged" from a 500.
        TestToken::ErrorAfterCapture => Err(ApiError::Internal(
            "An error occurred after the charge was captured; retry with the same Idempotency-Key \
             or look the charge up by idempotency_key."
                .into(),
        )),
        TestToken::Visa | TestToken::ChargeDeclined | TestToken::InsufficientFunds => {
            Ok(stored.first())
        }
    }
}

fn new_charge(request: &ChargeRequest, key: &str) -> Charge {
    let decline = request.source.decline();
    Charge {
        id: new_id("ch_"),
        object: "charge",
        amount: request.amount,
        currency: request.currency.clone(),
        status: if decline.is_some() {
            ChargeStatus::Failed
        } else {
            ChargeStatus::Succeeded
        },
        captured: decline.is_none(),
        refunded: false,
        source: request.source.as_str().to_owned(),
        description: request.description.clone(),
        metadata: request.metadata.clone(),
        idempotency_key: key.to_owned(),
        created: now_unix(),
        amount_refunded: Amount::ZERO,
        refunds: Vec::new(),
        failure_code: decline.map(|_| "card_declined"),
        decline_code: decline.map(Decline::decline_code),
        failure_message: decline.map(Decline::message),
    }
}

/// `GET /v1/charges/{id}`: the charge as it is now (refunds included).
pub async fn retrieve(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::ResourceMissing("No such charge".into()));
    };
    let store = state.lock();
    let charge = store
        .charge(&id)
        .ok_or_else(|| ApiError::ResourceMissing(format!("No such charge: {id:?}")))?;
    Ok(Json(to_json(charge)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    idempotency_key: Option<String>,
}

/// `GET /v1/charges[?idempotency_key=K]`: every charge newest first, or the one a key created.
/// Reconciliation asks by key after a timeout; failed charges are listed too.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::ParameterInvalid(format!(
            "the only query parameter is idempotency_key: {rejection}"
        ))
    })?;
    let store = state.lock();
    let data: Vec<&Charge> = match &query.idempotency_key {
        Some(key) => store.charge_by_idempotency_key(key).into_iter().collect(),
        None => store.charges_newest_first().collect(),
    };
    Ok(Json(json!({
        "object": "list",
        "url": PATH,
        "has_more": false,
        "data": to_json(&data)?,
    })))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value)
        .map_err(|err| ApiError::Internal(format!("could not serialise the response: {err}")))
}

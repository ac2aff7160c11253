//! The client for the card gateway: charges, refunds and lookups over HTTP, retried with backoff
//! on the caller's idempotency key and guarded by a circuit breaker. What the answers mean is
//! decided in `interpret`; what a call came to is an `outcome`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use rust_decimal::Decimal;

use super::breaker::{BreakerSettings, BreakerState, CircuitBreaker};
use super::clock::{Clock, SystemClock};
use super::interpret::{Answer, charge_outcome, parse, refund_outcome, snippet, unexpected_error};
use super::outcome::{ChargeOutcome, GatewayError, RefundOutcome, UnknownReason};
use super::retry::RetryPolicy;
use super::wire::{self, Charge, ChargeList, RefundReason};

/// The breaker's (and the metrics') name for this dependency.
const DEPENDENCY: &str = "payment_gateway";

/// How to reach the gateway and how hard to try.
#[derive(Clone)]
pub struct GatewaySettings {
    /// `http://host:port`, without a path.
    pub base_url: String,
    pub secret_key: String,
    /// The limit for one attempt, connecting and reading the whole answer included.
    pub attempt_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerSettings,
}

impl GatewaySettings {
    /// The given gateway with the design's defaults: 3 s per attempt, 5 attempts with backoff
    /// from 100 ms to 10 s, breaker at 5 in a row or 50 % of 20, open for 30 s.
    pub fn new(base_url: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            secret_key: secret_key.into(),
            attempt_timeout: Duration::from_secs(3),
            retry: RetryPolicy::default(),
            breaker: BreakerSettings::default(),
        }
    }
}

impl fmt::Debug for GatewaySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewaySettings")
            .field("base_url", &self.base_url)
            .field("secret_key", &"<redacted>")
            .field("attempt_timeout", &self.attempt_timeout)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .finish()
    }
}

/// A client for the card gateway. Cheap to clone; clones share the connection pool and the
/// circuit breaker.
#[derive(Clone)]
pub struct GatewayClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
}

impl fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayClient")
            .field("base_url", &self.inner.base_url)
            .field("retry", &self.inner.retry)
            .field("breaker", &self.inner.breaker.state())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
enum Operation {
    Charge,
    FindCharge,
    Refund,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Charge => "charge",
            Self::FindCharge => "find_charge",
            Self::Refund => "refund",
        }
    }
}

enum Attempted {
    Answered(Answer),
    Unknown(UnknownReason),
}

impl GatewayClient {
    pub fn new(settings: GatewaySettings) -> Result<Self, GatewayError> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// As `new`, with the circuit breaker reading time from `clock` (tests move it by hand).
    pub fn with_clock(
        settings: GatewaySettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, GatewayError> {
        let base_url = validate_base_url(&settings.base_url)?;
        if settings.secret_key.is_empty() {
            return Err(GatewayError::Config("secret_key is empty".into()));
        }
        if HeaderValue::from_str(&format!("Bearer {}", settings.secret_key)).is_err() {
            return Err(GatewayError::Config(
                "secret_key cannot be sent in a header".into(),
            ));
        }
        if settings.attempt_timeout.is_zero() {
            return Err(GatewayError::Config("attempt_timeout is zero".into()));
        }
        if settings.retry.attempts == 0 {
            return Err(GatewayError::Config(
                "retry.attempts must be at least 1".into(),
            ));
        }
        settings.breaker.validate().map_err(GatewayError::Config)?;
        // One client for every call: it keeps connections alive between attempts and calls.
        // The timeout covers one attempt from connecting to the end of the body.
        let http = reqwest::Client::builder()
            .timeout(settings.attempt_timeout)
            .connect_timeout(settings.attempt_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("edgeshop-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| GatewayError::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                secret_key: settings.secret_key,
                retry: settings.retry,
                breaker: CircuitBreaker::with_clock(DEPENDENCY, settings.breaker, clock),
            }),
        })
    }

    /// The breaker guarding the gateway (for health checks, metrics and tests).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }

    /// Charges `amount` to `source`. `key` is the payment's idempotency key: the same for every
    /// retry here and for any later call about the same payment, so the gateway charges once.
    pub async fn charge(
        &self,
        key: &str,
        amount: Decimal,
        currency: &str,
        source: &str,
        description: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ChargeOutcome, GatewayError> {
        let key_header = idempotency_key_header(key)?;
        if amount <= Decimal::ZERO {
            return Err(GatewayError::InvalidArgument(format!(
                "a charge must be positive, got {amount}"
            )));
        }
        let body = json_body(&wire::ChargeRequest {
            amount: wire::amount_to_wire(amount),
            currency,
            source,
            description,
            metadata,
        })?;
        let attempted = self
            .post_idempotent(Operation::Charge, "/v1/charges", &key_header, body)
            .await;
        let outcome = match attempted {
            Ok(Attempted::Answered(answer)) => charge_outcome(answer, key),
            Ok(Attempted::Unknown(reason)) => Ok(ChargeOutcome::Unknown { reason }),
            Err(err) => Err(err),
        };
        let label = match &outcome {
            Ok(ChargeOutcome::Captured(_)) => "captured",
            Ok(ChargeOutcome::Declined { .. }) => "declined",
            Ok(ChargeOutcome::Unknown { .. }) => "unknown",
            Err(_) => "error",
        };
        count_call(Operation::Charge, label);
        match &outcome {
            Ok(ChargeOutcome::Unknown { reason }) => {
                tracing::warn!(idempotency_key = key, %reason, "charge outcome unknown");
            }
            Err(err) => tracing::error!(idempotency_key = key, %err, "charge failed"),
            Ok(_) => {}
        }
        outcome
    }

    /// The charge the gateway made for `idempotency_key`, if any (failed charges included:
    /// see [`Charge::status`]). For reconciliation of payments left PENDING.
    pub async fn find_charge(&self, idempotency_key: &str) -> Result<Option<Charge>, GatewayError> {
        if idempotency_key.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "the idempotency key is empty".into(),
            ));
        }
        let url = format!("{}/v1/charges", self.inner.base_url);
        let attempted = self
            .send(Operation::FindCharge, || {
                self.inner
                    .http
                    .get(&url)
                    .query(&[("idempotency_key", idempotency_key)])
            })
            .await;
        let found = match attempted {
            Ok(Attempted::Answered(answer)) if answer.status.is_success() => {
                parse::<ChargeList>(&answer).and_then(|list| {
                    // A key creates at most one charge; two would mean the gateway broke its
                    // own idempotency, which reconciliation must not paper over.
                    if list.data.len() > 1 {
                        return Err(GatewayError::UnexpectedAnswer {
                            status: answer.status.as_u16(),
                            detail: "more than one charge for one idempotency key".into(),
                        });
                    }
                    Ok(list.data.into_iter().next())
                })
            }
            Ok(Attempted::Answered(answer)) => Err(unexpected_error(&answer, idempotency_key)),
            Ok(Attempted::Unknown(reason)) => Err(GatewayError::Unavailable(reason)),
            Err(err) => Err(err),
        };
        let label = match &found {
            Ok(Some(_)) => "found",
            Ok(None) => "not_found",
            Err(GatewayError::Unavailable(_)) => "unknown",
            Err(_) => "error",
        };
        count_call(Operation::FindCharge, label);
        found
    }

    /// Refunds `amount` of the charge (all that is left when `None`). `key` identifies this
    /// refund: the same key never refunds twice.
    pub async fn refund(
        &self,
        key: &str,
        charge_id: &str,
        amount: Option<Decimal>,
        reason: Option<RefundReason>,
    ) -> Result<RefundOutcome, GatewayError> {
        let key_header = idempotency_key_header(key)?;
        if charge_id.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "the charge id is empty".into(),
            ));
        }
        if let Some(amount) = amount
            && amount <= Decimal::ZERO
        {
            return Err(GatewayError::InvalidArgument(format!(
                "a refund must be positive, got {amount}"
            )));
        }
        let body = json_body(&wire::RefundRequest {
            charge: charge_id,
            amount: amount.map(wire::amount_to_wire),
            reason,
        })?;
        let attempted = self
            .post_idempotent(Operation::Refund, "/v1/refunds", &key_header, body)
            .await;
        let outcome = match attempted {
            Ok(Attempted::Answered(answer)) => refund_outcome(answer, key),
            Ok(Attempted::Unknown(reason)) => Ok(RefundOutcome::Unknown { reason }),
            Err(err) => Err(err),
        };
        let label = match &outcome {
            Ok(RefundOutcome::Refunded(_)) => "refunded",
            Ok(RefundOutcome::Refused { .. }) => "refused",
            Ok(RefundOutcome::Unknown { .. }) => "unknown",
            Err(_) => "error",
        };
        count_call(Operation::Refund, label);
        outcome
    }

    /// POSTs a JSON body with an idempotency key, retried as [`Self::send`] does: every attempt
    /// is the same request, so the gateway acts on it at most once.
    async fn post_idempotent(
        &self,
        op: Operation,
        path: &str,
        key: &HeaderValue,
        body: Bytes,
    ) -> Result<Attempted, GatewayError> {
        let url = format!("{}{path}", self.inner.base_url);
        self.send(op, || {
            self.inner
                .http
                .post(&url)
                .header("Idempotency-Key", key.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    /// Sends the request `make` builds, through the breaker, retrying timeouts, transport
    /// errors, 5xx and 429 with backoff. `make` is called once per attempt and must build the
    /// same request each time (same body, same Idempotency-Key), so a retry can never charge
    /// twice: the gateway replays what the first attempt did.
    async fn send(
        &self,
        op: Operation,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Attempted, GatewayError> {
        let inner = &*self.inner;
        let mut last_error = String::new();
        for attempt in 0..inner.retry.attempts {
            if attempt > 0 {
                // No point sleeping towards a breaker that our own failures just opened.
                if inner.breaker.state() == BreakerState::Open {
                    count_request(op, "short_circuited");
                    return Ok(Attempted::Unknown(UnknownReason::BreakerOpen {
                        attempts_sent: attempt,
                    }));
                }
                // Drawn before the await: the thread-local generator must not live across it.
                let delay = inner.retry.delay_before(attempt, &mut rand::thread_rng());
                tokio::time::sleep(delay).await;
            }
            let permit = match inner.breaker.try_acquire() {
                Ok(permit) => permit,
                Err(rejected) => {
                    tracing::debug!(operation = op.as_str(), %rejected, "call short-circuited");
                    count_request(op, "short_circuited");
                    return Ok(Attempted::Unknown(UnknownReason::BreakerOpen {
                        attempts_sent: attempt,
                    }));
                }
            };
            let started = Instant::now();
            let result = self.attempt(make()).await;
            metrics::histogram!(
                "payment_gateway_request_duration_seconds",
                "operation" => op.as_str()
            )
            .record(started.elapsed().as_secs_f64());
            match result {
                Ok(answer) if is_retryable_status(answer.status) => {
                    permit.failed();
                    count_request(op, status_label(answer.status));
                    last_error = format!("HTTP {}: {}", answer.status, snippet(&answer.body));
                }
                Ok(answer) => {
                    // Any 2xx or other 4xx: the gateway is up and answering, whatever it said.
                    permit.succeeded();
                    count_request(op, status_label(answer.status));
                    return Ok(Attempted::Answered(answer));
                }
                Err(err) if err.is_builder() => {
                    // Our request could not be built: says nothing about the gateway.
                    drop(permit);
                    count_request(op, "error");
                    return Err(GatewayError::InvalidArgument(describe(&err)));
                }
                Err(err) => {
                    permit.failed();
                    count_request(
                        op,
                        if err.is_timeout() {
                            "timeout"
                        } else {
                            "transport_error"
                        },
                    );
                    last_error = describe(&err);
                }
            }
            tracing::warn!(
                operation = op.as_str(),
                attempt = attempt + 1,
                of = inner.retry.attempts,
                error = %last_error,
                "payment gateway attempt failed"
            );
        }
        Ok(Attempted::Unknown(UnknownReason::AttemptsExhausted {
            attempts: inner.retry.attempts,
            last_error,
        }))
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let response = request.bearer_auth(&self.inner.secret_key).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok(Answer { status, body })
    }
}

fn json_body<T: serde::Serialize>(body: &T) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|err| GatewayError::InvalidArgument(format!("cannot encode the request: {err}")))
}

/// The gateway takes 1-255 visible ASCII characters; checked here so a bad key is a local
/// error instead of a 400 after a network round trip.
fn idempotency_key_header(key: &str) -> Result<HeaderValue, GatewayError> {
    let visible = key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if key.is_empty() || key.len() > 255 || !visible {
        return Err(GatewayError::InvalidArgument(format!(
            "idempotency key {key:?} must be 1-255 visible ASCII characters"
        )));
    }
    HeaderValue::from_str(key).map_err(|err| GatewayError::InvalidArgument(err.to_string()))
}

fn validate_base_url(base_url: &str) -> Result<String, GatewayError> {
    let url = reqwest::Url::parse(base_url)
        .map_err(|err| GatewayError::Config(format!("base_url {base_url:?}: {err}")))?;
    // This build of reqwest has no TLS: an https URL would fail on every attempt and leave
    // every payment PENDING, so refuse it at start-up instead.
    if url.scheme() != "http" {
        return Err(GatewayError::Config(format!(
            "base_url {base_url:?}: only http:// is supported (reqwest is built without TLS)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(GatewayError::Config(format!(
            "base_url {base_url:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

fn status_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "success",
        429 => "throttled",
        400..=499 => "client_error",
        500..=599 => "server_error",
        _ => "other",
    }
}

/// A reqwest error with its causes ("error sending request: connection refused").
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn count_request(op: Operation, outcome: &'static str) {
    metrics::counter!(
        "payment_gateway_requests_total",
        "operation" => op.as_str(),
        "outcome" => outcome
    )
    .increment(1);
}

fn count_call(op: Operation, outcome: &'static str) {
    metrics::counter!(
        "payment_gateway_calls_total",
        "operation" => op.as_str(),
        "outcome" => outcome
    )
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_errors_and_throttling_are_retried() {
        for status in [500, 502, 503, 504, 429] {
            assert!(is_retryable_status(StatusCode::from_u16(status).unwrap()));
        }
        for status in [200, 400, 401, 402, 404, 409, 422] {
            assert!(!is_retryable_status(StatusCode::from_u16(status).unwrap()));
        }
    }

    #[test]
    fn settings_are_checked_up_front() {
        let ok = GatewaySettings::new("http://127.0.0.1:1/", "sk");
        let client = GatewayClient::new(ok.clone()).unwrap();
        assert_eq!(client.inner.base_url, "http://127.0.0.1:1");
        let bad = [
            GatewaySettings::new("https://gateway.example", "sk"),
            GatewaySettings::new("not a url", "sk"),
            GatewaySettings::new("http://127.0.0.1:1/?x=1", "sk"),
            GatewaySettings::new("http://127.0.0.1:1", ""),
            GatewaySettings::new("http://127.0.0.1:1", "sk\n"),
            GatewaySettings {
                attempt_timeout: Duration::ZERO,
                ..ok.clone()
            },
            GatewaySettings {
                retry: RetryPolicy {
                    attempts: 0,
                    ..RetryPolicy::default()
                },
                ..ok.clone()
            },
            GatewaySettings {
                breaker: BreakerSettings {
                    window: 0,
                    ..BreakerSettings::default()
                },
                ..ok
            },
        ];
        for settings in bad {
            assert!(
                matches!(
                    GatewayClient::new(settings.clone()),
                    Err(GatewayError::Config(_))
                ),
                "{settings:?}"
            );
        }
    }

    #[test]
    fn the_secret_key_is_never_printed() {
        let settings = GatewaySettings::new("http://127.0.0.1:1", "sk_live_secret");
        assert!(!format!("{settings:?}").contains("sk_live_secret"));
        let client = GatewayClient::new(settings).unwrap();
        assert!(!format!("{client:?}").contains("sk_live_secret"));
    }

    #[test]
    fn calls_can_run_on_any_worker_thread() {
        // axum handlers and spawned tasks need Send futures: a permit or a random generator
        // held across an await would break that, at compile time.
        fn assert_send<T: Send>(_: &T) {}
        let client = GatewayClient::new(GatewaySettings::new("http://127.0.0.1:1", "sk")).unwrap();
        let meta = BTreeMap::new();
        assert_send(&client.charge("k", Decimal::ONE, "USD", "tok_visa", "", &meta));
        assert_send(&client.find_charge("k"));
        assert_send(&client.refund("k", "ch_1", None, None));
    }

    #[tokio::test]
    async fn bad_arguments_fail_before_any_request() {
        // Port 1 on loopback: if a request were sent it would fail, not return these errors.
        let client = GatewayClient::new(GatewaySettings::new("http://127.0.0.1:1", "sk")).unwrap();
        let meta = BTreeMap::new();
        for key in ["", "has space", "naïve", &"k".repeat(256)] {
            assert!(matches!(
                client
                    .charge(key, Decimal::ONE, "USD", "tok_visa", "", &meta)
                    .await,
                Err(GatewayError::InvalidArgument(_))
            ));
        }
        for amount in [Decimal::ZERO, Decimal::NEGATIVE_ONE] {
            assert!(matches!(
                client
                    .charge("k", amount, "USD", "tok_visa", "", &meta)
                    .await,
                Err(GatewayError::InvalidArgument(_))
            ));
            assert!(matches!(
                client.refund("k", "ch_1", Some(amount), None).await,
                Err(GatewayError::InvalidArgument(_))
            ));
        }
        assert!(matches!(
            client.refund("k", "", None, None).await,
            Err(GatewayError::InvalidArgument(_))
        ));
        assert!(matches!(
            client.find_charge("").await,
            Err(GatewayError::InvalidArgument(_))
        ));
        // Nothing was attempted, so the breaker saw nothing.
        assert_eq!(client.breaker().state(), BreakerState::Closed);
    }
}

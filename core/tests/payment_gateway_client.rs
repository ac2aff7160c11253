//! The payment gateway client against the real sandbox gateway, started in-process on a real
//! loopback socket: captures, declines, timeouts and errors after capture recovered through
//! retries on one idempotency key, the circuit breaker, refunds and reconciliation lookups.
//!
//! Attempts are counted through the client's own `payment_gateway_requests_total` metric, read
//! by a small recorder installed for the test's thread (the tests run on tokio's current-thread
//! runtime, so every metric the client emits lands there).

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgeshop_core::payments::{
    BreakerSettings, BreakerState, ChargeOutcome, ChargeStatus, GatewayClient, GatewayError,
    GatewaySettings, ManualClock, RefundOutcome, RefundReason, RetryPolicy, UnknownReason,
};
use edgeshop_gateway::GatewayConfig;
use rust_decimal_macros::dec;
use serde_json::Value;

const SECRET: &str = "sk_test";
const TIMEOUT_TOKEN_DELAY: Duration = Duration::from_millis(1500);

/// A fresh sandbox gateway on a free loopback port; its base URL.
async fn start_gateway() -> String {
    let (addr, _handle) = edgeshop_gateway::spawn(GatewayConfig {
        secret_key: SECRET.into(),
        timeout_token_delay: TIMEOUT_TOKEN_DELAY,
    })
    .await
    .expect("the sandbox gateway starts");
    format!("http://{addr}")
}

/// Settings for tests: quick retries so a test retries within milliseconds.
fn settings(base_url: &str) -> GatewaySettings {
    GatewaySettings {
        attempt_timeout: Duration::from_secs(3),
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            attempts: 5,
        },
        ..GatewaySettings::new(base_url, SECRET)
    }
}

fn gateway_client(settings: GatewaySettings) -> GatewayClient {
    GatewayClient::new(settings).expect("valid settings")
}

fn order(id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("order_id".to_owned(), id.to_owned())])
}

/// Every charge the gateway holds, through its unfiltered list.
async fn all_charges(base_url: &str) -> Vec<Value> {
    let list: Value = reqwest::Client::new()
        .get(format!("{base_url}/v1/charges"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_visa_charge_is_captured() {
    let requests = Requests::install();
    let base = start_gateway().await;
    let client = gateway_client(settings(&base));

    let outcome = client
        .charge(
            "pay-visa-1",
            dec!(12.34),
            "USD",
            "tok_visa",
            "2 books",
            &order("o-1"),
        )
        .await
        .unwrap();
    let ChargeOutcome::Captured(charge) = outcome else {
        panic!("expected a capture, got {outcome:?}");
    };
    assert!(charge.id.starts_with("ch_"), "{}", charge.id);
    assert_eq!(charge.amount, dec!(12.34));
    assert_eq!(charge.currency, "USD");
    assert_eq!(charge.status, ChargeStatus::Succeeded);
    assert!(charge.captured);
    assert_eq!(charge.source, "tok_visa");
    assert_eq!(charge.idempotency_key, "pay-visa-1");
    assert_eq!(charge.description.as_deref(), Some("2 books"));
    assert_eq!(charge.metadata, order("o-1"));
    assert_eq!(charge.amount_refunded, dec!(0));

    // The same payment asked again is the same charge, not a second one.
    let again = client
        .charge(
            "pay-visa-1",
            dec!(12.34),
            "USD",
            "tok_visa",
            "2 books",
            &order("o-1"),
        )
        .await
        .unwrap();
    assert_eq!(again, ChargeOutcome::Captured(charge));
    assert_eq!(all_charges(&base).await.len(), 1);
    assert_eq!(requests.get("charge", "success"), 2);
    assert_eq!(requests.total("charge"), 2);
}

#[tokio::test]
async fn declines_are_outcomes_not_errors() {
    let requests = Requests::install();
    let base = start_gateway().await;
    // A breaker that opens on a single failure: declines must not count as failures.
    let client = gateway_client(GatewaySettings {
        breaker: BreakerSettings {
            consecutive_failures: 1,
            ..BreakerSettings::default()
        },
        ..settings(&base)
    });

    let declined = client
        .charge(
            "pay-decl-1",
            dec!(5),
            "USD",
            "tok_chargeDeclined",
            "",
            &order("o-2"),
        )
        .await
        .unwrap();
    let ChargeOutcome::Declined {
        code,
        decline_code,
        retryable,
        charge_id,
        message,
    } = declined
    else {
        panic!("expected a decline, got {declined:?}");
    };
    assert_eq!(code, "card_declined");
    assert_eq!(decline_code.as_deref(), Some("generic_decline"));
    assert!(
        retryable,
        "a generic decline may be retried with another card"
    );
    assert!(charge_id.is_some_and(|id| id.starts_with("ch_")));
    assert!(!message.is_empty());

    let poor = client
        .charge(
            "pay-decl-2",
            dec!(5),
            "USD",
            "tok_insufficientFunds",
            "",
            &order("o-3"),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            &poor,
            ChargeOutcome::Declined { code, decline_code: Some(decline), retryable: true, .. }
                if code == "card_declined" && decline == "insufficient_funds"
        ),
        "{poor:?}"
    );

    let bogus = client
        .charge(
            "pay-decl-3",
            dec!(5),
            "USD",
            "tok_doesNotExist",
            "",
            &order("o-4"),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            &bogus,
            ChargeOutcome::Declined { code, decline_code: None, retryable: false, .. }
                if code == "invalid_source"
        ),
        "{bogus:?}"
    );

    // One request each: a 4xx is never retried, and the gateway stays healthy in the breaker.
    assert_eq!(requests.get("charge", "client_error"), 3);
    assert_eq!(requests.total("charge"), 3);
    assert_eq!(client.breaker().state(), BreakerState::Closed);

    // A mistake of ours (a wrong amount for this gateway) is an error, not a decline.
    let err = client
        .charge(
            "pay-decl-4",
            dec!(1.005),
            "USD",
            "tok_visa",
            "",
            &order("o-5"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GatewayError::Rejected { status: 400, code, .. } if code == "amount_invalid"),
        "{err:?}"
    );
    // And so is a wrong secret key.
    let wrong_key = GatewayClient::new(GatewaySettings::new(&base, "sk_wrong")).unwrap();
    let err = wrong_key
        .charge("pay-decl-5", dec!(1), "USD", "tok_visa", "", &order("o-6"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Unauthorized { status: 401 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_timeout_token_is_captured_exactly_once_through_retries() {
    let requests = Requests::install();
    let base = start_gateway().await;
    let attempt_timeout = Duration::from_millis(300);
    let client = gateway_client(GatewaySettings {
        attempt_timeout,
        ..settings(&base)
    });

    let started = Instant::now();
    let outcome = client
        .charge(
            "pay-slow-1",
            dec!(99.99),
            "EUR",
            "tok_timeout",
            "",
            &order("o-7"),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    let ChargeOutcome::Captured(charge) = outcome else {
        panic!("expected the retry to find the capture, got {outcome:?}");
    };
    assert_eq!(charge.amount, dec!(99.99));
    // The first attempt was given up after its timeout, and a retry on the same key got the
    // stored charge at once instead of waiting out the gateway's delay.
    assert!(took >= attempt_timeout, "{took:?}");
    assert!(requests.get("charge", "timeout") >= 1);
    assert_eq!(requests.get("charge", "success"), 1);

    let found = client.find_charge("pay-slow-1").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(charge.id.clone()));
    let all = all_charges(&base).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["id"], charge.id.as_str());
    assert_eq!(all[0]["captured"], true);
}

#[tokio::test]
async fn error_after_capture_is_recovered_by_retrying_the_same_key() {
    let requests = Requests::install();
    let base = start_gateway().await;
    let client = gateway_client(settings(&base));

    let outcome = client
        .charge(
            "pay-err-1",
            dec!(42.00),
            "USD",
            "tok_errorAfterCapture",
            "",
            &order("o-8"),
        )
        .await
        .unwrap();
    let ChargeOutcome::Captured(charge) = outcome else {
        panic!("expected the retry to find the capture, got {outcome:?}");
    };
    assert_eq!(charge.amount, dec!(42));
    assert_eq!(charge.idempotency_key, "pay-err-1");
    assert_eq!(requests.get("charge", "server_error"), 1);
    assert_eq!(requests.get("charge", "success"), 1);
    assert_eq!(all_charges(&base).await.len(), 1);
    assert_eq!(client.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_dead_gateway_opens_the_breaker_and_calls_fail_fast() {
    let requests = Requests::install();
    // A port that was free a moment ago and now has no listener: connections are refused.
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let clock = Arc::new(ManualClock::new());
    let client = GatewayClient::with_clock(
        GatewaySettings {
            retry: RetryPolicy {
                attempts: 1,
                ..RetryPolicy::default()
            },
            ..settings(&format!("http://127.0.0.1:{port}"))
        },
        clock.clone(),
    )
    .unwrap();

    for call in 1..=5 {
        assert_eq!(
            client.breaker().state(),
            BreakerState::Closed,
            "call {call}"
        );
        let outcome = client
            .charge(
                &format!("pay-dead-{call}"),
                dec!(1),
                "USD",
                "tok_visa",
                "",
                &order("o-9"),
            )
            .await
            .unwrap();
        assert!(
            matches!(
                outcome,
                ChargeOutcome::Unknown {
                    reason: UnknownReason::AttemptsExhausted { attempts: 1, .. }
                }
            ),
            "call {call}: {outcome:?}"
        );
    }
    assert_eq!(client.breaker().state(), BreakerState::Open);
    assert_eq!(requests.get("charge", "transport_error"), 5);

    // Open: refused without a connection attempt.
    let outcome = client
        .charge("pay-dead-6", dec!(1), "USD", "tok_visa", "", &order("o-9"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::Unknown {
            reason: UnknownReason::BreakerOpen { attempts_sent: 0 }
        }
    );
    let lookup = client.find_charge("pay-dead-1").await.unwrap_err();
    assert!(
        matches!(
            lookup,
            GatewayError::Unavailable(UnknownReason::BreakerOpen { attempts_sent: 0 })
        ),
        "{lookup:?}"
    );
    let refund = client
        .refund("ref-dead-1", "ch_x", None, None)
        .await
        .unwrap();
    assert!(
        matches!(refund, RefundOutcome::Unknown { .. }),
        "{refund:?}"
    );
    assert_eq!(requests.get("charge", "transport_error"), 5);
    assert_eq!(requests.attempted(), 5, "no request reached the network");

    // 30 s later one trial goes out; it fails too, so the breaker opens again.
    clock.advance(Duration::from_secs(30));
    assert_eq!(client.breaker().state(), BreakerState::HalfOpen);
    let outcome = client
        .charge("pay-dead-7", dec!(1), "USD", "tok_visa", "", &order("o-9"))
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            ChargeOutcome::Unknown {
                reason: UnknownReason::AttemptsExhausted { .. }
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(requests.get("charge", "transport_error"), 6);
    assert_eq!(client.breaker().state(), BreakerState::Open);
}

#[tokio::test]
async fn one_call_with_all_its_retries_failing_opens_the_breaker() {
    let requests = Requests::install();
    let port = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    // The design's defaults: 5 attempts, and 5 consecutive failures open the breaker.
    let client = gateway_client(settings(&format!("http://127.0.0.1:{port}")));
    let outcome = client
        .charge("pay-dead-9", dec!(1), "USD", "tok_visa", "", &order("o-10"))
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            ChargeOutcome::Unknown {
                reason: UnknownReason::AttemptsExhausted { attempts: 5, .. }
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(requests.get("charge", "transport_error"), 5);
    assert_eq!(client.breaker().state(), BreakerState::Open);
}

#[tokio::test]
async fn refunds_are_idempotent_and_bounded() {
    let base = start_gateway().await;
    let client = gateway_client(settings(&base));
    let ChargeOutcome::Captured(charge) = client
        .charge(
            "pay-ref-1",
            dec!(20.00),
            "USD",
            "tok_visa",
            "",
            &order("o-11"),
        )
        .await
        .unwrap()
    else {
        panic!("the charge should be captured");
    };

    let first = client
        .refund(
            "ref-1",
            &charge.id,
            Some(dec!(5.00)),
            Some(RefundReason::RequestedByCustomer),
        )
        .await
        .unwrap();
    let RefundOutcome::Refunded(refund) = first else {
        panic!("expected a refund, got {first:?}");
    };
    assert!(refund.id.starts_with("re_"));
    assert_eq!(refund.charge, charge.id);
    assert_eq!(refund.amount, dec!(5));
    assert_eq!(refund.reason, Some(RefundReason::RequestedByCustomer));

    // The same refund asked again is the same refund.
    let again = client
        .refund(
            "ref-1",
            &charge.id,
            Some(dec!(5.00)),
            Some(RefundReason::RequestedByCustomer),
        )
        .await
        .unwrap();
    assert_eq!(again, RefundOutcome::Refunded(refund.clone()));
    // The same key for another refund is our bug.
    let reused = client
        .refund("ref-1", &charge.id, Some(dec!(6.00)), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&reused, GatewayError::IdempotencyKeyReused { key } if key == "ref-1"),
        "{reused:?}"
    );

    // Never more than what is left.
    let too_much = client
        .refund("ref-2", &charge.id, Some(dec!(15.01)), None)
        .await
        .unwrap();
    assert!(
        matches!(&too_much, RefundOutcome::Refused { code, .. } if code == "amount_too_large"),
        "{too_much:?}"
    );
    let rest = client
        .refund("ref-3", &charge.id, None, None)
        .await
        .unwrap();
    assert!(
        matches!(&rest, RefundOutcome::Refunded(r) if r.amount == dec!(15.00)),
        "{rest:?}"
    );
    let nothing_left = client
        .refund("ref-4", &charge.id, None, None)
        .await
        .unwrap();
    assert!(
        matches!(&nothing_left, RefundOutcome::Refused { code, .. } if code == "charge_already_refunded"),
        "{nothing_left:?}"
    );

    let missing = client
        .refund("ref-5", "ch_doesnotexist", None, None)
        .await
        .unwrap();
    assert!(
        matches!(&missing, RefundOutcome::Refused { code, .. } if code == "resource_missing"),
        "{missing:?}"
    );
    let ChargeOutcome::Declined {
        charge_id: Some(failed_id),
        ..
    } = client
        .charge(
            "pay-ref-2",
            dec!(3),
            "USD",
            "tok_chargeDeclined",
            "",
            &order("o-12"),
        )
        .await
        .unwrap()
    else {
        panic!("the charge should be declined with a charge id");
    };
    let failed = client
        .refund("ref-6", &failed_id, None, None)
        .await
        .unwrap();
    assert!(
        matches!(&failed, RefundOutcome::Refused { code, .. } if code == "charge_not_refundable"),
        "{failed:?}"
    );

    let after = client.find_charge("pay-ref-1").await.unwrap().unwrap();
    assert_eq!(after.amount_refunded, dec!(20.00));
    assert!(after.refunded);
    assert_eq!(after.refunds.len(), 2);
    assert_eq!(
        after
            .refunds
            .iter()
            .map(|r| r.amount)
            .sum::<rust_decimal::Decimal>(),
        dec!(20)
    );
}

#[tokio::test]
async fn reconciliation_finds_a_charge_by_key() {
    let base = start_gateway().await;
    let client = gateway_client(settings(&base));
    assert_eq!(client.find_charge("pay-never-sent").await.unwrap(), None);

    // The caller gave up on a slow charge (one attempt, shorter than the gateway's delay), so
    // the payment is PENDING; reconciliation then finds that the money did move.
    let impatient = gateway_client(GatewaySettings {
        attempt_timeout: Duration::from_millis(200),
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        ..settings(&base)
    });
    let outcome = impatient
        .charge(
            "pay-rec-1",
            dec!(7.50),
            "USD",
            "tok_timeout",
            "",
            &order("o-13"),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            &outcome,
            ChargeOutcome::Unknown {
                reason: UnknownReason::AttemptsExhausted { attempts: 1, .. }
            }
        ),
        "{outcome:?}"
    );
    let found = client
        .find_charge("pay-rec-1")
        .await
        .unwrap()
        .expect("the charge was made");
    assert_eq!(found.idempotency_key, "pay-rec-1");
    assert_eq!(found.amount, dec!(7.50));
    assert_eq!(found.status, ChargeStatus::Succeeded);
    assert!(found.captured);
    assert_eq!(found.metadata, order("o-13"));

    // A declined payment is found too, with why it failed.
    client
        .charge(
            "pay-rec-2",
            dec!(1),
            "USD",
            "tok_insufficientFunds",
            "",
            &order("o-14"),
        )
        .await
        .unwrap();
    let failed = client.find_charge("pay-rec-2").await.unwrap().unwrap();
    assert_eq!(failed.status, ChargeStatus::Failed);
    assert!(!failed.captured);
    assert_eq!(failed.decline_code.as_deref(), Some("insufficient_funds"));

    // Keys that need escaping in a query string are looked up as they are.
    assert_eq!(client.find_charge("pay&rec=3#x").await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_calls_for_one_payment_capture_once() {
    let base = start_gateway().await;
    let client = gateway_client(settings(&base));
    let calls = (0..10).map(|_| {
        let client = client.clone();
        async move {
            client
                .charge(
                    "pay-race-1",
                    dec!(10),
                    "USD",
                    "tok_visa",
                    "",
                    &order("o-15"),
                )
                .await
                .unwrap()
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    let ids: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            ChargeOutcome::Captured(c) => c.id.clone(),
            other => panic!("expected a capture, got {other:?}"),
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(all_charges(&base).await.len(), 1);
}

/// Counts the client's `payment_gateway_requests_total` by (operation, outcome) on this thread.
struct Requests {
    recorder: &'static CountingRecorder,
    _guard: metrics::LocalRecorderGuard<'static>,
}

impl Requests {
    fn install() -> Self {
        // Leaked so the guard can borrow it for 'static; a few bytes per test.
        let recorder: &'static CountingRecorder = Box::leak(Box::default());
        Self {
            recorder,
            _guard: metrics::set_default_local_recorder(recorder),
        }
    }

    fn get(&self, operation: &str, outcome: &str) -> u64 {
        let counters = self.recorder.counters.lock().unwrap();
        counters
            .get(&(operation.to_owned(), outcome.to_owned()))
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    fn total(&self, operation: &str) -> u64 {
        let counters = self.recorder.counters.lock().unwrap();
        counters
            .iter()
            .filter(|((op, _), _)| op == operation)
            .map(|(_, c)| c.load(Ordering::SeqCst))
            .sum()
    }

    /// Requests that went out on the wire, of any operation (short-circuited calls excluded).
    fn attempted(&self) -> u64 {
        let counters = self.recorder.counters.lock().unwrap();
        counters
            .iter()
            .filter(|((_, outcome), _)| outcome != "short_circuited")
            .map(|(_, c)| c.load(Ordering::SeqCst))
            .sum()
    }
}

#[derive(Default)]
struct CountingRecorder {
    counters: Mutex<HashMap<(String, String), Arc<AtomicU64>>>,
}

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if key.name() != "payment_gateway_requests_total" {
            return metrics::Counter::noop();
        }
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
                .unwrap_or_default()
        };
        let cell = self
            .counters
            .lock()
            .unwrap()
            .entry((label("operation"), label("outcome")))
            .or_default()
            .clone();
        metrics::Counter::from_arc(cell)
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

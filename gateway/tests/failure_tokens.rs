//! The tokens that model a gateway failing around a capture: a late answer and a 500 after
//! the money moved. In both cases the charge exists and a retry with the key finds it.

mod common;

use std::time::Instant;

use common::{Gateway, TIMEOUT_DELAY, answer, error_code, with_source};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_timeout_token_captures_then_answers_late() {
    let gw = Gateway::start().await;
    let body = with_source("25.00", "tok_timeout");

    let started = Instant::now();
    let first = {
        let request = gw
            .http
            .post(gw.url("/v1/charges"))
            .bearer_auth(common::KEY)
            .header("Idempotency-Key", "slow-1")
            .json(&body);
        tokio::spawn(async move {
            let first = answer(request).await;
            (first, started.elapsed())
        })
    };

    // The capture is visible (reconciliation by key finds it) while the first request waits.
    let captured = loop {
        let list = gw.get("/v1/charges?idempotency_key=slow-1").await;
        if let Some(charge) = list.body["data"].get(0) {
            break charge.clone();
        }
        assert!(
            started.elapsed() < TIMEOUT_DELAY,
            "the charge was not recorded before the delay"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert_eq!(captured["captured"], true);

    let retry_started = Instant::now();
    let retry = gw.charge("slow-1", &body).await;
    let retry_took = retry_started.elapsed();
    assert!(
        !first.is_finished(),
        "the retry must happen during the first request's sleep"
    );
    assert_eq!(retry.status, StatusCode::OK);
    assert!(retry.replayed);
    assert_eq!(retry.body["id"], captured["id"]);
    assert!(
        retry_took < TIMEOUT_DELAY / 2,
        "the retry waited {retry_took:?}"
    );

    let (first, first_took) = first.await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.replayed);
    assert_eq!(first.body["id"], captured["id"]);
    assert!(
        first_took >= TIMEOUT_DELAY,
        "the first answer came after {first_took:?}"
    );

    // And after the sleep, a retry still gets the stored charge at once.
    let late_retry = gw.charge("slow-1", &body).await;
    assert_eq!(late_retry.status, StatusCode::OK);
    assert!(late_retry.replayed);
    assert_eq!(late_retry.body["id"], captured["id"]);
    assert_eq!(gw.captured_count().await, 1);
}

#[tokio::test]
async fn error_after_capture_answers_500_but_the_charge_exists() {
    let gw = Gateway::start().await;
    let body = with_source("40.00", "tok_errorAfterCapture");

    let failed = gw.charge("flaky-1", &body).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.body["error"]["type"], "api_error");
    assert_eq!(error_code(&failed), "internal_error");

    let found = gw.get("/v1/charges?idempotency_key=flaky-1").await;
    let data = found.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["status"], "succeeded");
    assert_eq!(data[0]["captured"], true);
    assert_eq!(data[0]["amount"], "40.00");

    let retry = gw.charge("flaky-1", &body).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(retry.replayed);
    assert_eq!(retry.body["id"], data[0]["id"]);
    assert_eq!(gw.captured_count().await, 1);
}

//! Parallel requests carrying one new key: exactly one capture, everyone gets that charge.

mod common;

use std::collections::HashSet;

use common::{Gateway, visa};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_capture_once() {
    let gw = Gateway::start().await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let request = gw
            .http
            .post(gw.url("/v1/charges"))
            .bearer_auth(common::KEY)
            .header("Idempotency-Key", "one-key")
            .json(&visa("19.99"));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            common::answer(request).await
        }));
    }
    let mut ids = HashSet::new();
    let mut originals = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        if !answer.replayed {
            originals += 1;
        }
        ids.insert(answer.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every request must get the same charge");
    assert_eq!(originals, 1, "exactly one request may perform the capture");
    assert_eq!(gw.captured_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_distinct_keys_each_capture() {
    let gw = Gateway::start().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let request = gw
            .http
            .post(gw.url("/v1/charges"))
            .bearer_auth(common::KEY)
            .header("Idempotency-Key", format!("key-{i}"))
            .json(&visa("1.00"));
        tasks.push(tokio::spawn(common::answer(request)));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().status, StatusCode::OK);
    }
    assert_eq!(gw.captured_count().await, 20);
}

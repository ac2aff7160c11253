//! The secret key guards every /v1 route; the health check is open.

mod common;

use common::{Gateway, answer, error_code, visa};
use edgeshop_gateway::GatewayConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn requests_without_the_secret_key_are_refused() {
    let gw = Gateway::start().await;
    let credentials: [Option<&str>; 5] = [
        None,
        Some("Bearer sk_test_wrong"),
        Some("Bearer "),
        Some("sk_test_edgeshop"),
        Some("Basic c2tfdGVzdF9lZGdlc2hvcDo="),
    ];
    for authorization in credentials {
        let with = |request: reqwest::RequestBuilder| match authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        };
        let requests = [
            with(gw.http.post(gw.url("/v1/charges")))
                .header("Idempotency-Key", "k")
                .json(&visa("1.00")),
            with(gw.http.get(gw.url("/v1/charges"))),
            with(
                gw.http
                    .get(gw.url("/v1/charges/ch_000000000000000000000000")),
            ),
            with(gw.http.post(gw.url("/v1/refunds")))
                .header("Idempotency-Key", "k")
                .json(&json!({"charge": "ch_000000000000000000000000"})),
        ];
        for request in requests {
            let refused = answer(request).await;
            assert_eq!(
                refused.status,
                StatusCode::UNAUTHORIZED,
                "{authorization:?}"
            );
            assert_eq!(refused.body["error"]["type"], "authentication_error");
            assert_eq!(error_code(&refused), "invalid_api_key");
            assert!(refused.body["error"]["message"].is_string());
        }
    }
    assert_eq!(gw.all_charges().await.len(), 0, "nothing was charged");
}

#[tokio::test]
async fn the_health_check_needs_no_key() {
    let gw = Gateway::start().await;
    let health = answer(gw.http.get(gw.url("/healthz"))).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn a_configured_secret_key_replaces_the_default() {
    let config = GatewayConfig {
        secret_key: "sk_test_other".into(),
        ..GatewayConfig::default()
    };
    let (addr, _server) = edgeshop_gateway::spawn(config).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/charges");
    let default_key = answer(http.get(&url).bearer_auth(common::KEY)).await;
    assert_eq!(default_key.status, StatusCode::UNAUTHORIZED);
    let configured = answer(http.get(&url).bearer_auth("sk_test_other")).await;
    assert_eq!(configured.status, StatusCode::OK);
}

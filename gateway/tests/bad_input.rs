//! Malformed requests: each gets a 400 with the field's own code, never a 500, and creates
//! nothing (so the key stays free for a corrected request).

mod common;

use common::{Gateway, answer, error_code, visa};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn assert_refused(gw: &Gateway, body: &Value, code: &str) {
    let refused = gw.charge("bad", body).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        refused.body["error"]["type"], "invalid_request_error",
        "{body}"
    );
    assert_eq!(error_code(&refused), code, "{body}");
    assert!(refused.body["error"]["message"].is_string());
}

#[tokio::test]
async fn amounts_must_be_positive_decimal_strings_with_two_decimals_at_most() {
    let gw = Gateway::start().await;
    let amounts = [
        json!(12.34),
        json!(12),
        json!("12.345"),
        json!("0"),
        json!("0.00"),
        json!("-5.00"),
        json!("+5.00"),
        json!("1e3"),
        json!(""),
        json!("12,34"),
        json!("123456789.00"),
        json!(null),
        json!({"value": "1.00"}),
    ];
    for amount in amounts {
        let body = json!({"amount": amount, "currency": "USD", "source": "tok_visa"});
        assert_refused(&gw, &body, "amount_invalid").await;
    }
    assert_refused(
        &gw,
        &json!({"currency": "USD", "source": "tok_visa"}),
        "amount_invalid",
    )
    .await;
    assert_eq!(gw.all_charges().await.len(), 0);
}

#[tokio::test]
async fn currencies_must_be_three_upper_case_letters() {
    let gw = Gateway::start().await;
    for currency in [
        json!("usd"),
        json!("US"),
        json!("USDX"),
        json!(840),
        json!("U$D"),
    ] {
        let body = json!({"amount": "1.00", "currency": currency, "source": "tok_visa"});
        assert_refused(&gw, &body, "currency_invalid").await;
    }
    assert_refused(
        &gw,
        &json!({"amount": "1.00", "source": "tok_visa"}),
        "currency_invalid",
    )
    .await;
}

#[tokio::test]
async fn unknown_sources_are_refused() {
    let gw = Gateway::start().await;
    for source in [json!("tok_mastercard"), json!("TOK_VISA"), json!(42)] {
        let body = json!({"amount": "1.00", "currency": "USD", "source": source});
        assert_refused(&gw, &body, "invalid_source").await;
    }
    assert_refused(
        &gw,
        &json!({"amount": "1.00", "currency": "USD"}),
        "invalid_source",
    )
    .await;
    assert_eq!(gw.all_charges().await.len(), 0);
}

#[tokio::test]
async fn malformed_bodies_are_refused() {
    let gw = Gateway::start().await;
    let bodies = [
        json!([]),
        json!("tok_visa"),
        json!({"amount": "1.00", "currency": "USD", "source": "tok_visa", "capture": false}),
        json!({"amount": "1.00", "currency": "USD", "source": "tok_visa", "metadata": {"n": 1}}),
        json!({"amount": "1.00", "currency": "USD", "source": "tok_visa", "metadata": ["x"]}),
        json!({"amount": "1.00", "currency": "USD", "source": "tok_visa", "description": 5}),
        json!({"amount": "1.00", "currency": "USD", "source": "tok_visa", "description": "x".repeat(1001)}),
    ];
    for body in bodies {
        assert_refused(&gw, &body, "body_invalid").await;
    }
    for raw in ["", "{", "not json", "{\"amount\": \"1.00\",}"] {
        let refused = answer(
            gw.http
                .post(gw.url("/v1/charges"))
                .bearer_auth(common::KEY)
                .header("Idempotency-Key", "raw")
                .header("Content-Type", "application/json")
                .body(raw),
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{raw:?}");
        assert_eq!(error_code(&refused), "body_invalid", "{raw:?}");
    }
    assert_eq!(gw.all_charges().await.len(), 0);
}

#[tokio::test]
async fn the_idempotency_key_is_required_and_well_formed() {
    let gw = Gateway::start().await;
    let post = || {
        gw.http
            .post(gw.url("/v1/charges"))
            .bearer_auth(common::KEY)
            .json(&visa("1.00"))
    };
    let missing = answer(post()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["error"]["type"], "invalid_request_error");
    assert_eq!(error_code(&missing), "idempotency_key_missing");

    for bad in ["", "has space", &"k".repeat(256)] {
        let refused = answer(post().header("Idempotency-Key", bad)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(error_code(&refused), "idempotency_key_invalid", "{bad:?}");
    }
    let longest = answer(post().header("Idempotency-Key", "k".repeat(255))).await;
    assert_eq!(longest.status, StatusCode::OK);
    assert_eq!(gw.all_charges().await.len(), 1);
}

#[tokio::test]
async fn a_refused_request_does_not_use_up_its_key() {
    let gw = Gateway::start().await;
    let refused = gw
        .charge(
            "k",
            &json!({"amount": 5, "currency": "USD", "source": "tok_visa"}),
        )
        .await;
    assert_eq!(error_code(&refused), "amount_invalid");
    let corrected = gw.charge("k", &visa("5.00")).await;
    assert_eq!(corrected.status, StatusCode::OK);
    assert!(!corrected.replayed);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let gw = Gateway::start().await;
    let missing = gw.get("/v1/customers").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "resource_missing");

    let wrong_method = answer(
        gw.http
            .delete(gw.url("/v1/charges"))
            .bearer_auth(common::KEY),
    )
    .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&wrong_method), "method_not_allowed");
}

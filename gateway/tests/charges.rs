//! Charges with the plain success and decline tokens, idempotent replays, lookups and lists.

mod common;

use common::{Gateway, error_code, visa, with_source};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_visa_charge_is_captured_once_per_key() {
    let gw = Gateway::start().await;
    let body = json!({
        "amount": "12.34",
        "currency": "USD",
        "source": "tok_visa",
        "description": "order 1",
        "metadata": {"order_id": "ord_1"},
    });

    let first = gw.charge("order-1-pay", &body).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.replayed);
    let charge = &first.body;
    let id = charge["id"].as_str().unwrap();
    assert!(id.starts_with("ch_") && id.len() == 27, "{id}");
    assert!(id[3..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["amount"], "12.34");
    assert_eq!(charge["currency"], "USD");
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["captured"], true);
    assert_eq!(charge["source"], "tok_visa");
    assert_eq!(charge["description"], "order 1");
    assert_eq!(charge["metadata"], json!({"order_id": "ord_1"}));
    assert_eq!(charge["idempotency_key"], "order-1-pay");
    assert_eq!(charge["amount_refunded"], "0.00");
    assert_eq!(charge["refunds"], json!([]));
    let now = chrono::Utc::now().timestamp();
    assert!((now - charge["created"].as_i64().unwrap()).abs() < 60);

    let again = gw.charge("order-1-pay", &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.replayed,
        "a retry must carry Idempotent-Replayed: true"
    );
    assert_eq!(again.body, first.body);
    assert_eq!(gw.captured_count().await, 1);

    let other = gw.charge("order-2-pay", &body).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(gw.captured_count().await, 2);
}

#[tokio::test]
async fn declines_are_402_with_a_decline_code() {
    let gw = Gateway::start().await;
    for (source, decline_code, message) in [
        (
            "tok_chargeDeclined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "tok_insufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ] {
        let key = format!("pay-{source}");
        let declined = gw.charge(&key, &with_source("9.99", source)).await;
        assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
        let error = &declined.body["error"];
        assert_eq!(error["type"], "card_error");
        assert_eq!(error["code"], "card_declined");
        assert_eq!(error["decline_code"], decline_code);
        assert_eq!(error["message"], message);

        // The failed charge is recorded and the decline is the key's stored answer.
        let charge_id = error["charge"].as_str().unwrap();
        let charge = gw.get(&format!("/v1/charges/{charge_id}")).await;
        assert_eq!(charge.status, StatusCode::OK);
        assert_eq!(charge.body["status"], "failed");
        assert_eq!(charge.body["captured"], false);
        assert_eq!(charge.body["decline_code"], decline_code);

        let replay = gw.charge(&key, &with_source("9.99", source)).await;
        assert_eq!(replay.status, StatusCode::PAYMENT_REQUIRED);
        assert!(replay.replayed);
        assert_eq!(replay.body, declined.body);
    }
    assert_eq!(gw.all_charges().await.len(), 2);
    assert_eq!(gw.captured_count().await, 0);
}

#[tokio::test]
async fn a_reused_key_with_other_parameters_is_refused() {
    let gw = Gateway::start().await;
    assert_eq!(gw.charge("k", &visa("10.00")).await.status, StatusCode::OK);

    for other in [
        visa("10.01"),
        json!({"amount": "10.00", "currency": "EUR", "source": "tok_visa"}),
        with_source("10.00", "tok_chargeDeclined"),
        json!({"amount": "10.00", "currency": "USD", "source": "tok_visa", "metadata": {"a": "b"}}),
    ] {
        let refused = gw.charge("k", &other).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{other}");
        assert_eq!(refused.body["error"]["type"], "idempotency_error");
        assert_eq!(error_code(&refused), "idempotency_key_reused");
    }
    assert_eq!(gw.all_charges().await.len(), 1);
}

#[tokio::test]
async fn the_same_parameters_written_differently_are_a_replay() {
    let gw = Gateway::start().await;
    let first = gw
        .charge(
            "k",
            &json!({"amount": "10.5", "currency": "USD", "source": "tok_visa", "metadata": {"b": "2", "a": "1"}}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["amount"], "10.50");

    let same = json!({"metadata": {"a": "1", "b": "2"}, "source": "tok_visa", "description": null, "currency": "USD", "amount": "10.50"});
    let replay = gw.charge("k", &same).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert!(replay.replayed);
    assert_eq!(replay.body["id"], first.body["id"]);
}

#[tokio::test]
async fn charges_can_be_found_by_id_and_by_idempotency_key() {
    let gw = Gateway::start().await;
    let first = gw.charge("key-a", &visa("1.00")).await.body;
    let second = gw.charge("key-b", &visa("2.00")).await.body;

    let by_id = gw
        .get(&format!("/v1/charges/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.body, first);

    let by_key = gw.get("/v1/charges?idempotency_key=key-b").await;
    assert_eq!(by_key.status, StatusCode::OK);
    assert_eq!(by_key.body["object"], "list");
    assert_eq!(by_key.body["data"], json!([second]));

    let none = gw.get("/v1/charges?idempotency_key=never-used").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body["data"], json!([]));

    let all = gw.all_charges().await;
    assert_eq!(all, vec![second, first], "newest first");

    let missing = gw.get("/v1/charges/ch_000000000000000000000000").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["type"], "invalid_request_error");
    assert_eq!(error_code(&missing), "resource_missing");

    let unknown_parameter = gw.get("/v1/charges?limit=3").await;
    assert_eq!(unknown_parameter.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&unknown_parameter), "parameter_invalid");
}

#[tokio::test]
async fn keys_are_scoped_per_endpoint() {
    let gw = Gateway::start().await;
    let charge = gw.charge("shared-key", &visa("3.00")).await;
    assert_eq!(charge.status, StatusCode::OK);
    let refund = gw
        .refund("shared-key", &json!({"charge": charge.body["id"]}))
        .await;
    assert_eq!(refund.status, StatusCode::OK);
    assert!(!refund.replayed);
    assert_eq!(refund.body["object"], "refund");
}

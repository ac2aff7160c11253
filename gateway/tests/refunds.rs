//! Refunds: partial and full, never beyond what was captured, idempotent per key.

mod common;

use common::{Gateway, error_code, visa, with_source};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn refunds_cannot_exceed_the_capture() {
    let gw = Gateway::start().await;
    let charge = gw.charge("pay", &visa("10.00")).await.body;
    let id = charge["id"].as_str().unwrap();

    let partial = gw
        .refund(
            "r1",
            &json!({"charge": id, "amount": "4.00", "reason": "requested_by_customer"}),
        )
        .await;
    assert_eq!(partial.status, StatusCode::OK);
    let refund = &partial.body;
    let refund_id = refund["id"].as_str().unwrap();
    assert!(
        refund_id.starts_with("re_") && refund_id.len() == 27,
        "{refund_id}"
    );
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["charge"], id);
    assert_eq!(refund["amount"], "4.00");
    assert_eq!(refund["currency"], "USD");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["reason"], "requested_by_customer");
    assert!(refund["created"].is_i64());

    let too_much = gw
        .refund("r2", &json!({"charge": id, "amount": "6.01"}))
        .await;
    assert_eq!(too_much.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&too_much), "amount_too_large");

    // No amount: the rest of the charge.
    let rest = gw.refund("r3", &json!({"charge": id})).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(rest.body["amount"], "6.00");
    assert_eq!(rest.body["reason"], json!(null));

    let one_cent = gw
        .refund("r4", &json!({"charge": id, "amount": "0.01"}))
        .await;
    assert_eq!(error_code(&one_cent), "amount_too_large");
    let nothing_left = gw.refund("r5", &json!({"charge": id})).await;
    assert_eq!(nothing_left.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&nothing_left), "charge_already_refunded");

    let now = gw.get(&format!("/v1/charges/{id}")).await.body;
    assert_eq!(now["amount_refunded"], "10.00");
    assert_eq!(now["refunded"], true);
    assert_eq!(now["refunds"], json!([partial.body, rest.body]));
}

#[tokio::test]
async fn a_refund_is_made_once_per_key() {
    let gw = Gateway::start().await;
    let charge = gw.charge("pay", &visa("10.00")).await.body;
    let body = json!({"charge": charge["id"], "amount": "2.50", "reason": "duplicate"});

    let first = gw.refund("refund-1", &body).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = gw.refund("refund-1", &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);

    let other = gw
        .refund(
            "refund-1",
            &json!({"charge": charge["id"], "amount": "2.00"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&other), "idempotency_key_reused");

    let now = gw
        .get(&format!("/v1/charges/{}", charge["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(now["amount_refunded"], "2.50");
    assert_eq!(now["refunds"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn declined_and_unknown_charges_cannot_be_refunded() {
    let gw = Gateway::start().await;
    let declined = gw
        .charge("pay", &with_source("5.00", "tok_chargeDeclined"))
        .await;
    let failed_id = declined.body["error"]["charge"].clone();

    let refused = gw.refund("r1", &json!({"charge": failed_id})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&refused), "charge_not_refundable");

    let missing = gw
        .refund("r2", &json!({"charge": "ch_ffffffffffffffffffffffff"}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "resource_missing");
}

#[tokio::test]
async fn bad_refund_requests_are_refused() {
    let gw = Gateway::start().await;
    let charge = gw.charge("pay", &visa("5.00")).await.body;
    let id = charge["id"].clone();
    for (body, code) in [
        (json!({"charge": id, "amount": 1.5}), "amount_invalid"),
        (json!({"charge": id, "amount": "0"}), "amount_invalid"),
        (json!({"charge": id, "amount": "1.005"}), "amount_invalid"),
        (
            json!({"charge": id, "reason": "changed_my_mind"}),
            "body_invalid",
        ),
        (
            json!({"charge": id, "refund_application_fee": true}),
            "body_invalid",
        ),
        (json!({"amount": "1.00"}), "body_invalid"),
        (json!({"charge": 7}), "body_invalid"),
    ] {
        let refused = gw.refund("r", &body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&refused), code, "{body}");
    }
    let missing_key = common::answer(
        gw.http
            .post(gw.url("/v1/refunds"))
            .bearer_auth(common::KEY)
            .json(&json!({"charge": id})),
    )
    .await;
    assert_eq!(missing_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&missing_key), "idempotency_key_missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_never_exceed_the_charge() {
    let gw = Gateway::start().await;
    let charge = gw.charge("pay", &visa("5.00")).await.body;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let request = gw
            .http
            .post(gw.url("/v1/refunds"))
            .bearer_auth(common::KEY)
            .header("Idempotency-Key", format!("refund-{i}"))
            .json(&json!({"charge": charge["id"], "amount": "1.00"}));
        tasks.push(tokio::spawn(common::answer(request)));
    }
    let mut made = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::OK => made += 1,
            _ => assert_eq!(error_code(&answer), "amount_too_large"),
        }
    }
    assert_eq!(made, 5);
    let now = gw
        .get(&format!("/v1/charges/{}", charge["id"].as_str().unwrap()))
        .await
        .body;
    assert_eq!(now["amount_refunded"], "5.00");
}

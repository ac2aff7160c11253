//! The group commit of paid checkouts (`checkout::completion`) against the step-by-step path
//! it stands in for: the same rows, log lines and events; and everything off the plain path
//! handed back untouched.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use edgeshop_core::checkout::completion::{Completer, Completion, Paid};
use serde_json::{Value, json};
use shared_model::ids::{PaymentId, SagaId};
use support::shop::{Shop, illinois};

async fn shop(db: sqlx::PgPool) -> Shop {
    Shop::open(db, &[], Duration::from_secs(5), illinois()).await
}

impl Shop {
    async fn pay(&self, checkout: &str) -> Value {
        let paid = self
            .app
            .post(&format!("/api/checkout/{checkout}/pay"))
            .bearer(&self.buyer.token)
            .header("idempotency-key", &format!("pay-{checkout}"))
            .json(&json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}))
            .send()
            .await;
        paid.expect(StatusCode::OK);
        paid.json
    }

    async fn saga(&self, checkout: &str) -> SagaId {
        SagaId(
            sqlx::query_scalar("SELECT saga_id FROM saga_state WHERE checkout_id = $1::uuid")
                .bind(checkout)
                .fetch_one(&self.app.db)
                .await
                .unwrap(),
        )
    }

    /// Everything a completed checkout wrote, with the ids and times that differ between
    /// two checkouts taken out.
    async fn record(&self, checkout: &str) -> Value {
        let saga = self.saga(checkout).await.0;
        let db = &self.app.db;
        let rows = |sql: &'static str| async move {
            sqlx::query_scalar::<_, Value>(sql)
                .bind(saga)
                .fetch_one(db)
                .await
                .unwrap()
        };
        let saga_state = rows(
            "SELECT jsonb_build_object('status', status, 'step', current_step, 'done', completed_steps)
               FROM saga_state WHERE saga_id = $1",
        )
        .await;
        let steps = rows(
            "SELECT jsonb_agg(jsonb_build_array(step_name, step_status, step_data) ORDER BY log_id)
               FROM saga_step_log WHERE saga_id = $1",
        )
        .await;
        let order = rows(
            "SELECT jsonb_build_object('status', o.status, 'payment', o.payment_status,
                    'items', (SELECT jsonb_agg(status ORDER BY order_item_id) FROM order_items i WHERE i.order_id = o.order_id),
                    'history', (SELECT jsonb_agg(jsonb_build_array(from_status, to_status, reason, actor) ORDER BY history_id)
                                  FROM order_status_history h WHERE h.order_id = o.order_id))
               FROM orders o JOIN saga_state s ON s.order_id = o.order_id WHERE s.saga_id = $1",
        )
        .await;
        let payments = rows(
            "SELECT jsonb_agg(jsonb_build_array(p.status, p.gateway_transaction_id IS NOT NULL, p.failure_code,
                                                p.failure_reason, p.retryable, p.amount::text) ORDER BY payment_id)
               FROM payments p JOIN saga_state s ON s.order_id = p.order_id WHERE s.saga_id = $1",
        )
        .await;
        let reservations = rows(
            "SELECT jsonb_agg(jsonb_build_array(r.status, r.quantity, r.order_id = s.order_id) ORDER BY reservation_id)
               FROM inventory_reservations r JOIN saga_state s ON s.saga_id = r.saga_id WHERE r.saga_id = $1",
        )
        .await;
        let events = rows(
            "SELECT jsonb_agg(jsonb_build_array(event_type, topic, partition_key = $1::text, envelope->'payload')
                              ORDER BY outbox_id)
               FROM outbox_events WHERE partition_key = $1::text",
        )
        .await;
        anonymise(json!({
            "saga": saga_state, "steps": steps, "order": order, "payments": payments,
            "reservations": reservations, "events": events,
        }))
    }
}

/// Replaces every value whose key names an id or a time with "*".
fn anonymise(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let id = k.ends_with("Id") || k.ends_with("At") || k == "orderNumber";
                    (k, if id { json!("*") } else { anonymise(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(anonymise).collect()),
        other => other,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_group_commit_writes_what_the_step_by_step_path_writes(db: sqlx::PgPool) {
    let mut shop = shop(db.clone()).await;
    let batched = shop.start_checkout().await;
    let stepwise = shop.start_checkout().await;

    let answer = shop.pay(&batched).await;
    assert_eq!(answer["status"], "CONFIRMED");
    assert_eq!(answer["paymentStatus"], "CAPTURED");

    shop.app.state.services_mut().completer = Completer::spawn(db.clone(), false);
    shop.app.rebuild();
    let stepwise_answer = shop.pay(&stepwise).await;

    let (a, b) = (shop.record(&batched).await, shop.record(&stepwise).await);
    assert_eq!(a["saga"]["status"], "COMPLETED", "{a:#}");
    assert_eq!(a["order"]["status"], "CONFIRMED", "{a:#}");
    assert_eq!(a, b, "group commit vs step by step");
    assert_eq!(anonymise(answer), anonymise(stepwise_answer));
    // Both sales left the stock: 10 drizzles, 2 sold twice, none reserved.
    let drizzle: (i32, i32) = sqlx::query_as(
        "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1",
    )
    .bind(shop.catalog.drizzle)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(drizzle, (6, 0));
}

/// Opens a payment attempt the way `pay` does, for handing to the completer directly.
async fn attempt(shop: &Shop, checkout: &str) -> (SagaId, PaymentId) {
    let saga = shop.saga(checkout).await;
    let payment: i64 = sqlx::query_scalar(
        "INSERT INTO payments (order_id, amount, currency, payment_method, payment_gateway, idempotency_key, attempt_count)
         SELECT o.order_id, o.total_amount, o.currency, 'CARD', 'sandbox', 'pay-' || $1::text, 1
           FROM orders o JOIN saga_state s ON s.order_id = o.order_id WHERE s.saga_id = $1
         RETURNING payment_id",
    )
    .bind(saga.0)
    .fetch_one(&shop.app.db)
    .await
    .unwrap();
    (saga, PaymentId::new(payment))
}

fn paid(saga: SagaId, payment: PaymentId) -> Paid {
    let charge = serde_json::from_value(json!({
        "id": format!("ch_{}", saga.0.simple()), "amount": "4262.76", "currency": "USD",
        "status": "succeeded", "captured": true, "source": "tok_visa",
        "idempotency_key": format!("pay-{}", saga.0), "created": 1_790_000_000,
        "amount_refunded": "0.00"
    }))
    .unwrap();
    Paid {
        saga,
        payment,
        charge,
        correlation_id: "test".into(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn checkouts_off_the_plain_path_are_handed_back_untouched(db: sqlx::PgPool) {
    let shop = shop(db.clone()).await;
    let plain = shop.start_checkout().await;
    let ended = shop.start_checkout().await;
    let completed = shop.start_checkout().await;
    shop.pay(&completed).await;
    let (plain_saga, plain_payment) = attempt(&shop, &plain).await;
    let (ended_saga, ended_payment) = attempt(&shop, &ended).await;
    // This one's reservation expired while its payment was in flight.
    sqlx::query("UPDATE inventory_reservations SET status = 'EXPIRED' WHERE saga_id = $1")
        .bind(ended_saga.0)
        .execute(&db)
        .await
        .unwrap();
    let completed_saga = shop.saga(&completed).await;
    let completed_payment: i64 =
        sqlx::query_scalar("SELECT max(payment_id) FROM payments WHERE status = 'CAPTURED'")
            .fetch_one(&db)
            .await
            .unwrap();
    let before = shop.record(&ended).await;

    let completer = Completer::spawn(db.clone(), true);
    let (a, b, c, d) = tokio::join!(
        completer.complete(paid(plain_saga, plain_payment)),
        completer.complete(paid(ended_saga, ended_payment)),
        completer.complete(paid(completed_saga, PaymentId::new(completed_payment))),
        // A payment that is not this saga's.
        completer.complete(paid(plain_saga, ended_payment)),
    );
    assert_eq!(a, Completion::Completed);
    assert_eq!(b, Completion::StepByStep, "reservation ended");
    assert_eq!(c, Completion::StepByStep, "already completed");
    assert_eq!(d, Completion::StepByStep, "someone else's payment");
    assert_eq!(shop.record(&ended).await, before, "nothing written for it");
    assert_eq!(shop.record(&plain).await["saga"]["status"], "COMPLETED");
    // Handing the completed one over again changes nothing either.
    assert_eq!(
        completer.complete(paid(plain_saga, plain_payment)).await,
        Completion::StepByStep
    );
    let captured: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'CAPTURED'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(captured, 2);
    let switched_off = Completer::spawn(db.clone(), false);
    let (saga, payment) = (ended_saga, ended_payment);
    assert_eq!(
        switched_off.complete(paid(saga, payment)).await,
        Completion::StepByStep
    );
}

//! `PUT /api/carts/{cartId}`: the edge's cart snapshots, stored for backup and analytics. Only
//! the edge may send them, an older snapshot never overwrites a newer one, and bad lines are
//! a 4xx.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared_model::auth::Role;
use sqlx::PgPool;
use support::TestApp;
use support::fixtures::small_catalog;

const SECRET: &str = "edge-secret-0123456789";
const CART: &str = "cart_0123456789abcdef0123456789abcdef";

fn app(db: PgPool) -> TestApp {
    TestApp::with_config(
        db,
        support::test_config_with(
            &support::redis_url(),
            &[("EDGESHOP_EDGE_SECRET", SECRET.to_owned())],
        ),
    )
}

fn snapshot(user: Value, items: Value, at: &str) -> Value {
    json!({"userId": user, "status": "ACTIVE", "currency": "USD", "items": items, "updatedAt": at})
}

async fn lines(db: &PgPool) -> Vec<(i64, Option<i64>, i32, String)> {
    sqlx::query_as(
        "SELECT product_id, variant_id, quantity, price_at_addition::TEXT FROM cart_items
          WHERE cart_id = $1 ORDER BY product_id",
    )
    .bind(CART)
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_snapshot_replaces_the_stored_lines_unless_it_is_older(db: PgPool) {
    let catalog = small_catalog(&db).await;
    let app = app(db.clone());
    let first = snapshot(
        Value::Null,
        json!([
            {"productId": catalog.aster.to_string(), "variantId": catalog.aster_blue.to_string(), "quantity": 2, "priceAtAddition": "799.00"},
            {"productId": catalog.borealis.to_string(), "quantity": 1, "priceAtAddition": "19.99"}
        ]),
        "2026-11-26T10:00:00Z",
    );
    let stored = app
        .put(&format!("/api/carts/{CART}"))
        .header("x-edge-secret", SECRET)
        .json(&first)
        .send()
        .await;
    stored.expect(StatusCode::OK);
    assert_eq!(stored.json["applied"], true);
    assert_eq!(lines(&db).await.len(), 2);
    let (status, expires): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT status, expires_at FROM carts WHERE cart_id = $1")
            .bind(CART)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(status, "ACTIVE");
    assert_eq!(
        expires.unwrap().to_rfc3339(),
        "2026-12-26T10:00:00+00:00",
        "a guest cart expires 30 days after its last change"
    );

    // A later change: one line left.
    let later = snapshot(
        Value::Null,
        json!([{"productId": catalog.borealis.to_string(), "quantity": 3, "priceAtAddition": "19.99"}]),
        "2026-11-26T10:05:00Z",
    );
    let put = app
        .put(&format!("/api/carts/{CART}"))
        .header("x-edge-secret", SECRET)
        .json(&later)
        .send()
        .await;
    assert_eq!(put.json["applied"], true);
    // The first snapshot arrives again, late: ignored.
    let late = app
        .put(&format!("/api/carts/{CART}"))
        .header("x-edge-secret", SECRET)
        .json(&first)
        .send()
        .await;
    late.expect(StatusCode::OK);
    assert_eq!(late.json["applied"], false);
    assert_eq!(
        lines(&db).await,
        vec![(catalog.borealis, None, 3, "19.99".to_owned())]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_buyers_cart_never_expires_and_a_merged_guest_cart_says_so(db: PgPool) {
    let catalog = small_catalog(&db).await;
    let app = app(db.clone());
    let buyer = app.user(Role::Customer).await;
    let items = json!([{"productId": catalog.borealis.to_string(), "quantity": 1, "priceAtAddition": "19.99"}]);
    app.put(&format!("/api/carts/{CART}"))
        .header("x-edge-secret", SECRET)
        .json(&snapshot(
            json!(buyer.user_id.to_string()),
            items.clone(),
            "2026-11-26T10:00:00Z",
        ))
        .send()
        .await
        .expect(StatusCode::OK);
    let (user, expires): (Option<i64>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT user_id, expires_at FROM carts WHERE cart_id = $1")
            .bind(CART)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(user, Some(buyer.user_id));
    assert_eq!(expires, None);

    let guest = "cart_ffffffffffffffffffffffffffffffff";
    let mut merged = snapshot(Value::Null, items, "2026-11-26T10:01:00Z");
    merged["status"] = json!("MERGED");
    app.put(&format!("/api/carts/{guest}"))
        .header("x-edge-secret", SECRET)
        .json(&merged)
        .send()
        .await
        .expect(StatusCode::OK);
    let status: String = sqlx::query_scalar("SELECT status FROM carts WHERE cart_id = $1")
        .bind(guest)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(status, "MERGED");
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_edge_may_send_snapshots_and_bad_ones_are_refused(db: PgPool) {
    let catalog = small_catalog(&db).await;
    let app = app(db.clone());
    let good = snapshot(
        Value::Null,
        json!([{"productId": catalog.borealis.to_string(), "quantity": 1, "priceAtAddition": "19.99"}]),
        "2026-11-26T10:00:00Z",
    );
    let path = format!("/api/carts/{CART}");
    app.put(&path)
        .json(&good)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_the_edge");
    app.put(&path)
        .header("x-edge-secret", "a-guess-of-the-secret")
        .json(&good)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "not_the_edge");
    app.put("/api/carts/not-a-cart")
        .header("x-edge-secret", SECRET)
        .json(&good)
        .send()
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);

    let bad = |items: Value| snapshot(Value::Null, items, "2026-11-26T10:00:00Z");
    for (items, code) in [
        (
            json!([{"productId": catalog.borealis.to_string(), "quantity": 0, "priceAtAddition": "1.00"}]),
            "invalid_quantity",
        ),
        (
            json!([{"productId": catalog.borealis.to_string(), "quantity": 1, "priceAtAddition": "-1.00"}]),
            "invalid_price",
        ),
        (
            json!([{"productId": "999999", "quantity": 1, "priceAtAddition": "1.00"}]),
            "invalid_reference",
        ),
    ] {
        app.put(&path)
            .header("x-edge-secret", SECRET)
            .json(&bad(items))
            .send()
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    assert!(
        lines(&db).await.is_empty(),
        "a refused snapshot stores nothing"
    );

    // A core without the secret takes no snapshots at all.
    let closed = TestApp::new(db.clone()).await;
    closed
        .put(&path)
        .header("x-edge-secret", SECRET)
        .json(&good)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "snapshots_disabled");
}

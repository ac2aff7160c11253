//! Checkout end to end through the HTTP API, with the real sandbox gateway on a real socket:
//! the happy path, every gateway token, expiry, replays and bad input.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use edgeshop_core::checkout::store;
use serde_json::{Value, json};
use shared_model::auth::Role;
use shared_model::ids::CheckoutId;
use support::fixtures::SmallCatalog;
use support::shop::{Shop, illinois};

/// A shop with a buyer who has a US address; `ttl` is the checkout's lifetime.
async fn shop(db: sqlx::PgPool, ttl: u64, gateway_delay: Duration) -> Shop {
    Shop::open(
        db,
        &[("CHECKOUT_TTL_SECONDS", ttl.to_string())],
        gateway_delay,
        illinois(),
    )
    .await
}

impl Shop {
    async fn initiate(&self, items: Value) -> support::TestResponse {
        self.app
            .post("/api/checkout/initiate")
            .bearer(&self.buyer.token)
            .json(&json!({"items": items, "shippingAddressId": self.address}))
            .send()
            .await
    }

    /// Initiates a checkout that must start, and answers its id.
    async fn started(&self, items: Value) -> String {
        let started = self.initiate(items).await;
        started.expect(StatusCode::CREATED);
        started.json["checkoutId"].as_str().unwrap().to_owned()
    }

    async fn pay(&self, checkout: &str, token: &str, key: &str) -> support::TestResponse {
        self.app
            .post(&format!("/api/checkout/{checkout}/pay"))
            .bearer(&self.buyer.token)
            .header("idempotency-key", key)
            .json(&json!({"paymentMethod": "CARD", "paymentToken": token}))
            .send()
            .await
    }

    async fn stock(&self, product: i64) -> (i32, i32) {
        sqlx::query_as("SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1 ORDER BY inventory_id LIMIT 1")
            .bind(product)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }

    async fn saga_status(&self, checkout: &str) -> String {
        sqlx::query_scalar("SELECT status FROM saga_state WHERE checkout_id = $1::uuid")
            .bind(checkout)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

fn drizzle(c: &SmallCatalog, quantity: u32) -> Value {
    json!([{"productId": c.drizzle.to_string(), "quantity": quantity}])
}

#[sqlx::test(migrations = "../migrations")]
async fn a_buyer_checks_out_and_pays_for_a_confirmed_order(db: sqlx::PgPool) {
    let shop = shop(db.clone(), 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let started = shop
        .initiate(json!([
            {"productId": c.drizzle.to_string(), "quantity": 2},
            {"productId": c.aster.to_string(), "variantId": c.aster_blue.to_string(), "quantity": 1}
        ]))
        .await;
    started.expect(StatusCode::CREATED);
    let view = &started.json;
    assert_eq!(view["status"], "RESERVED");
    // 2 × 1499.00 + 949.00 = 3947.00; US tax 8 % = 315.76; free shipping over 50.
    assert_eq!(view["subtotal"], "3947.00");
    assert_eq!(view["tax"], "315.76");
    assert_eq!(view["shipping"], "0.00");
    assert_eq!(view["total"], "4262.76");
    assert!(view["secondsRemaining"].as_i64().unwrap() > 890);
    assert_eq!(
        view["availablePaymentMethods"],
        json!(["CARD", "PAYPAL", "UPI"])
    );
    let checkout = view["checkoutId"].as_str().unwrap().to_owned();
    assert_eq!(shop.stock(c.drizzle).await, (10, 2));
    // The answer is built from what initiate had in hand: it is what reading it back gives.
    let read_back = shop
        .app
        .get(&format!("/api/checkout/{checkout}"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    let without_countdown = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("secondsRemaining");
        v
    };
    assert_eq!(without_countdown(&read_back.json), without_countdown(view));

    let paid = shop.pay(&checkout, "tok_visa", "pay-1").await;
    paid.expect(StatusCode::OK);
    assert_eq!(paid.json["status"], "CONFIRMED");
    assert_eq!(paid.json["paymentStatus"], "CAPTURED");
    assert_eq!(paid.json["total"], "4262.76");
    assert_eq!(paid.json["orderNumber"], view["orderNumber"]);
    assert_eq!(
        shop.stock(c.drizzle).await,
        (8, 0),
        "sold units leave the stock"
    );
    assert_eq!(shop.saga_status(&checkout).await, "COMPLETED");
    assert_eq!(shop.gateway.captures().await, 1);
    let steps: Vec<(String, String)> = sqlx::query_as(
        "SELECT step_name, step_status FROM saga_step_log WHERE saga_id = (SELECT saga_id FROM saga_state WHERE checkout_id = $1::uuid) ORDER BY log_id",
    )
    .bind(&checkout)
    .fetch_all(&db)
    .await
    .unwrap();
    let completed: Vec<&str> = steps
        .iter()
        .filter(|(_, s)| s == "COMPLETED")
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        completed,
        [
            "RESERVE_INVENTORY",
            "PROCESS_PAYMENT",
            "CREATE_ORDER",
            "CONFIRM_INVENTORY"
        ]
    );
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM outbox_events WHERE topic <> 'catalog.events' ORDER BY outbox_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            "CHECKOUT_INITIATED",
            "INVENTORY_RESERVED",
            "PAYMENT_COMPLETED",
            "INVENTORY_CONFIRMED",
            "ORDER_CREATED"
        ]
    );
    let view = shop
        .app
        .get(&format!("/api/checkout/{checkout}"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    assert_eq!(view.json["status"], "CONFIRMED");
    // A replay of the same pay request answers the same, and charges nothing more.
    let again = shop.pay(&checkout, "tok_visa", "pay-1").await;
    assert_eq!(again.json, paid.json);
    assert_eq!(shop.gateway.captures().await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn out_of_stock_is_a_409_naming_the_short_lines_and_reserves_nothing(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let refused = shop
        .initiate(json!([
            {"productId": c.drizzle.to_string(), "quantity": 2},
            {"productId": c.aster.to_string(), "variantId": c.aster_black.to_string(), "quantity": 1}
        ]))
        .await;
    refused.expect_error(StatusCode::CONFLICT, "out_of_stock");
    assert_eq!(
        refused.json["error"]["details"]["items"],
        json!([{"productId": c.aster.to_string(), "variantId": c.aster_black.to_string(), "requested": 1, "available": 0}])
    );
    assert_eq!(shop.stock(c.drizzle).await, (10, 0));
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&shop.app.db)
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_declined_card_keeps_the_reservation_for_another_card(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let checkout = shop.started(drizzle(c, 1)).await;
    for token in ["tok_chargeDeclined", "tok_insufficientFunds"] {
        let declined = shop.pay(&checkout, token, &format!("try-{token}")).await;
        declined.expect_error(StatusCode::PAYMENT_REQUIRED, "payment_declined");
        assert_eq!(declined.json["error"]["details"]["retryable"], true);
        assert_eq!(shop.stock(c.drizzle).await, (10, 1), "the unit stays held");
    }
    let view = shop
        .app
        .get(&format!("/api/checkout/{checkout}"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    assert_eq!(view.json["status"], "PAYMENT_FAILED");
    assert_eq!(
        view.json["lastPayment"]["failureCode"],
        "insufficient_funds"
    );
    shop.pay(&checkout, "tok_visa", "try-visa")
        .await
        .expect(StatusCode::OK);
    assert_eq!(shop.stock(c.drizzle).await, (9, 0));
    assert_eq!(shop.gateway.captures().await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn paying_one_checkout_many_times_at_once_charges_once(db: sqlx::PgPool) {
    // Two tabs, two keys: the attempts race for the saga's lock, and whoever loses is told a
    // payment is in progress (or, once it is done, gets the confirmed order).
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let checkout = shop.started(drizzle(c, 1)).await;
    let keys: Vec<String> = (0..12).map(|tab| format!("tab-{tab}")).collect();
    let tabs = keys.iter().map(|key| shop.pay(&checkout, "tok_visa", key));
    let answers = futures_util::future::join_all(tabs).await;
    let mut confirmed = 0;
    for answer in &answers {
        match answer.status {
            StatusCode::OK => {
                assert_eq!(answer.json["status"], "CONFIRMED", "{}", answer.text);
                confirmed += 1;
            }
            StatusCode::CONFLICT => {
                assert_eq!(answer.json["error"]["code"], "payment_in_progress")
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert!(confirmed >= 1, "nobody was told the order is confirmed");
    assert_eq!(shop.gateway.captures().await, 1);
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&shop.app.db)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "one attempt, one charge");
    assert_eq!(shop.stock(c.drizzle).await, (9, 0));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_checkout_read_under_lock_after_a_wait_sees_the_order_as_it_was_left(db: sqlx::PgPool) {
    // Whoever waits for a saga's lock must decide on the order as the lock's holder left it,
    // not as it was when the wait began.
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let checkout = shop.started(drizzle(&shop.catalog, 1)).await;
    let checkout = CheckoutId(checkout.parse().unwrap());
    let db = shop.app.db.clone();
    let mut holder = db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM saga_state WHERE checkout_id = $1 FOR UPDATE")
        .bind(checkout.0)
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET status = 'CONFIRMED', payment_status = 'CAPTURED' WHERE checkout_id = $1")
        .bind(checkout.0)
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query("UPDATE saga_state SET status = 'COMPLETED' WHERE checkout_id = $1")
        .bind(checkout.0)
        .execute(&mut *holder)
        .await
        .unwrap();
    let reader = tokio::spawn({
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            store::load(&mut tx, checkout, true).await.unwrap().unwrap()
        }
    });
    // Let the reader take its snapshot and queue for the lock before the holder lets go.
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if waiting == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    holder.commit().await.unwrap();
    let record = reader.await.unwrap();
    assert_eq!(record.saga_status, "COMPLETED");
    assert_eq!(record.order_status, "CONFIRMED");
    assert_eq!(record.payment_status, "CAPTURED");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unknown_card_is_not_retryable_and_releases_the_stock(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let checkout = shop.started(drizzle(c, 3)).await;
    let refused = shop.pay(&checkout, "tok_unknown", "k1").await;
    refused.expect_error(StatusCode::PAYMENT_REQUIRED, "payment_declined");
    assert_eq!(refused.json["error"]["details"]["retryable"], false);
    assert_eq!(shop.stock(c.drizzle).await, (10, 0));
    assert_eq!(shop.saga_status(&checkout).await, "COMPENSATED");
    shop.pay(&checkout, "tok_visa", "k2")
        .await
        .expect_error(StatusCode::CONFLICT, "checkout_closed");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_timeout_token_is_captured_once_and_the_order_confirmed(db: sqlx::PgPool) {
    // The gateway answers after 2 s; the client gives up after 400 ms and retries the same key,
    // which the gateway answers at once with the charge it already captured.
    let shop = shop(db, 900, Duration::from_secs(2)).await;
    let checkout = shop.started(drizzle(&shop.catalog, 1)).await;
    let paid = shop.pay(&checkout, "tok_timeout", "slow").await;
    paid.expect(StatusCode::OK);
    assert_eq!(paid.json["status"], "CONFIRMED");
    assert_eq!(shop.gateway.captures().await, 1);
    let payments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'CAPTURED'")
            .fetch_one(&shop.app.db)
            .await
            .unwrap();
    assert_eq!(payments, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_error_after_capture_is_retried_into_a_confirmed_order(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let checkout = shop.started(drizzle(&shop.catalog, 1)).await;
    let paid = shop.pay(&checkout, "tok_errorAfterCapture", "k").await;
    paid.expect(StatusCode::OK);
    assert_eq!(paid.json["paymentStatus"], "CAPTURED");
    assert_eq!(shop.gateway.captures().await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_checkout_gives_its_stock_back(db: sqlx::PgPool) {
    let shop = shop(db, 1, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let checkout = shop.started(drizzle(c, 4)).await;
    assert_eq!(shop.stock(c.drizzle).await, (10, 4));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = edgeshop_core::checkout::jobs::sweep_expired(&shop.app.state)
        .await
        .unwrap();
    assert_eq!(report.expired_checkouts, 1);
    assert_eq!(shop.stock(c.drizzle).await, (10, 0));
    assert_eq!(shop.saga_status(&checkout).await, "COMPENSATED");
    let order: String = sqlx::query_scalar("SELECT status FROM orders")
        .fetch_one(&shop.app.db)
        .await
        .unwrap();
    assert_eq!(order, "FAILED");
    shop.pay(&checkout, "tok_visa", "late")
        .await
        .expect_error(StatusCode::CONFLICT, "checkout_closed");
    assert_eq!(shop.gateway.captures().await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn stock_an_admin_adds_in_a_new_warehouse_is_for_sale_at_once(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    // Every unit of the only stock row is taken: the process now knows drizzle's stock rows.
    shop.initiate(drizzle(c, 10))
        .await
        .expect(StatusCode::CREATED);
    shop.initiate(drizzle(c, 1))
        .await
        .expect_error(StatusCode::CONFLICT, "out_of_stock");
    let admin = shop.app.user(Role::Admin).await;
    shop.app
        .put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(
            &json!({"productId": c.drizzle.to_string(), "warehouseId": c.warehouse_de.to_string(),
                      "quantityTotal": 5}),
        )
        .send()
        .await
        .expect(StatusCode::OK);
    // The new row is used by the very next checkout, not after a cache expires.
    shop.initiate(drizzle(c, 3))
        .await
        .expect(StatusCode::CREATED);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_price_rise_above_five_percent_must_be_confirmed(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    // Seen at 1300.00; now 1499.00 (+15 %).
    let items =
        json!([{"productId": c.drizzle.to_string(), "quantity": 1, "priceAtAddition": "1300.00"}]);
    let refused = shop.initiate(items.clone()).await;
    refused.expect_error(StatusCode::CONFLICT, "price_changed");
    assert_eq!(
        refused.json["error"]["details"]["priceChanges"][0]["current"],
        "1499.00"
    );
    assert_eq!(shop.stock(c.drizzle).await, (10, 0));
    let accepted = shop
        .app
        .post("/api/checkout/initiate")
        .bearer(&shop.buyer.token)
        .json(
            &json!({"items": items, "shippingAddressId": shop.address, "acceptPriceChanges": true}),
        )
        .send()
        .await;
    accepted.expect(StatusCode::CREATED);
    assert_eq!(
        accepted.json["priceChanges"][0]["change"],
        "ROSE_NEEDS_CONFIRMATION"
    );
    // A drop is simply applied, and shown.
    let dropped = shop.initiate(json!([{"productId": c.drizzle.to_string(), "quantity": 1, "priceAtAddition": "1600.00"}])).await;
    dropped.expect(StatusCode::CREATED);
    assert_eq!(dropped.json["priceChanges"][0]["change"], "DROPPED");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_checkouts_are_refused_and_reserve_nothing(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let c = &shop.catalog;
    let other = shop.app.user(Role::Customer).await;
    let foreign_address = shop
        .app
        .post("/api/users/me/addresses")
        .bearer(&other.token)
        .json(&json!({"streetAddress": "2 Elm St", "city": "X", "postalCode": "12345", "country": "US"}))
        .send()
        .await
        .json["addressId"]
        .clone();
    let cases = [
        (
            json!({"items": [], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"items": [{"productId": c.drizzle.to_string(), "quantity": 0}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"items": [{"productId": c.drizzle.to_string(), "quantity": 11}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"items": [{"productId": "999999", "quantity": 1}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
        ),
        (
            json!({"items": [{"productId": c.fog.to_string(), "quantity": 1}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_unavailable",
        ),
        (
            json!({"items": [{"productId": c.aster.to_string(), "quantity": 1}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_variant",
        ),
        (
            json!({"items": [{"productId": c.drizzle.to_string(), "quantity": 1}], "shippingAddressId": foreign_address}),
            StatusCode::NOT_FOUND,
            "address_not_found",
        ),
        (
            json!({"items": [{"productId": c.drizzle.to_string(), "quantity": 1, "price": "0.01"}], "shippingAddressId": shop.address}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let refused = shop
            .app
            .post("/api/checkout/initiate")
            .bearer(&shop.buyer.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert_eq!(
            refused.json["error"]["code"], code,
            "{body}: {}",
            refused.text
        );
    }
    shop.app
        .post("/api/checkout/initiate")
        .json(&json!({}))
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "missing_token");
    let reserved: i64 = sqlx::query_scalar("SELECT sum(quantity_reserved)::bigint FROM inventory")
        .fetch_one(&shop.app.db)
        .await
        .unwrap();
    assert_eq!(reserved, 0);
    // Someone else's checkout does not exist for this buyer.
    let checkout = shop.started(drizzle(c, 1)).await;
    shop.app
        .get(&format!("/api/checkout/{checkout}"))
        .bearer(&other.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "checkout_not_found");
    shop.app
        .post(&format!("/api/checkout/{checkout}/pay"))
        .bearer(&other.token)
        .json(&json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "checkout_not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_pay_bodys_idempotency_key_counts_like_the_header(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let checkout = shop.started(drizzle(&shop.catalog, 1)).await;
    let pay = || {
        shop.app
            .post(&format!("/api/checkout/{checkout}/pay"))
            .bearer(&shop.buyer.token)
            .json(&json!({"paymentMethod": "CARD", "paymentToken": "tok_visa", "idempotencyKey": "idem_abc123"}))
            .send()
    };
    let first = pay().await;
    first.expect(StatusCode::OK);
    let again = pay().await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json);
    assert_eq!(shop.gateway.captures().await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn paying_names_the_cart_the_checkout_came_from_and_only_then(db: sqlx::PgPool) {
    let shop = shop(db, 900, Duration::from_secs(5)).await;
    let cart = "cart_0123456789abcdef0123456789abcdef";
    let from_cart = shop
        .app
        .post("/api/checkout/initiate")
        .bearer(&shop.buyer.token)
        .json(&json!({"cartId": cart, "items": drizzle(&shop.catalog, 1), "shippingAddressId": shop.address}))
        .send()
        .await;
    from_cart.expect(StatusCode::CREATED);
    let from_cart = from_cart.json["checkoutId"].as_str().unwrap().to_owned();
    let paid = shop.pay(&from_cart, "tok_visa", "pay-cart").await;
    paid.expect(StatusCode::OK);
    assert_eq!(paid.json["cartId"], cart);

    let direct = shop.started(drizzle(&shop.catalog, 1)).await;
    let paid = shop.pay(&direct, "tok_visa", "pay-direct").await;
    paid.expect(StatusCode::OK);
    assert!(paid.json.get("cartId").is_none(), "{}", paid.json);
}

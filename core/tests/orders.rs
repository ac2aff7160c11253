//! A buyer's orders: listing with cursors, detail with payments and history, cancelling
//! before shipping (released or restocked, refunded), and a seller's own lines.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared_model::auth::Role;
use support::shop::{Shop, texas};

async fn shop(db: sqlx::PgPool) -> (Shop, support::fixtures::SmallCatalog) {
    let shop = Shop::open(db, &[], Duration::from_secs(5), texas()).await;
    let catalog = shop.catalog.clone();
    (shop, catalog)
}

impl Shop {
    /// Checks out `quantity` of `product`, paying unless `pay` is false; answers the order id.
    async fn order(&self, product: i64, quantity: u32, pay: bool) -> String {
        let started = self
            .app
            .post("/api/checkout/initiate")
            .bearer(&self.buyer.token)
            .json(&json!({"items": [{"productId": product.to_string(), "quantity": quantity}], "shippingAddressId": self.address}))
            .send()
            .await;
        started.expect(StatusCode::CREATED);
        if pay {
            let checkout = started.json["checkoutId"].as_str().unwrap();
            self.app
                .post(&format!("/api/checkout/{checkout}/pay"))
                .bearer(&self.buyer.token)
                .json(&json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}))
                .send()
                .await
                .expect(StatusCode::OK);
        }
        started.json["orderId"].as_str().unwrap().to_owned()
    }

    async fn stock(&self, product: i64) -> (i32, i32) {
        sqlx::query_as(
            "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1",
        )
        .bind(product)
        .fetch_one(&self.app.db)
        .await
        .unwrap()
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn orders_are_listed_newest_first_a_cursor_at_a_time(db: sqlx::PgPool) {
    let (shop, c) = shop(db).await;
    let first = shop.order(c.drizzle, 1, true).await;
    let second = shop.order(c.ember, 2, true).await;
    let third = shop.order(c.drizzle, 1, false).await;
    let page = shop
        .app
        .get("/api/orders?limit=2")
        .bearer(&shop.buyer.token)
        .send()
        .await;
    page.expect(StatusCode::OK);
    assert_eq!(ids(&page.json), [third.clone(), second.clone()]);
    assert_eq!(page.json["orders"][1]["itemCount"], 2);
    let cursor = page.json["nextCursor"].as_str().unwrap();
    let rest = shop
        .app
        .get(&format!("/api/orders?limit=2&cursor={cursor}"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    assert_eq!(ids(&rest.json), [first]);
    assert_eq!(rest.json["nextCursor"], Value::Null);
    let other = shop.app.user(Role::Customer).await;
    assert_eq!(
        ids(&shop
            .app
            .get("/api/orders")
            .bearer(&other.token)
            .send()
            .await
            .json),
        Vec::<String>::new()
    );
    shop.app
        .get("/api/orders?cursor=junk")
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_cursor");
    shop.app
        .get("/api/orders?limit=0")
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_order_shows_its_items_payment_and_history_to_its_buyer_only(db: sqlx::PgPool) {
    let (shop, c) = shop(db).await;
    let order = shop.order(c.drizzle, 2, true).await;
    let detail = shop
        .app
        .get(&format!("/api/orders/{order}"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    detail.expect(StatusCode::OK);
    let d = &detail.json;
    assert_eq!(d["status"], "CONFIRMED");
    assert_eq!(d["paymentStatus"], "CAPTURED");
    assert_eq!(d["items"][0]["quantity"], 2);
    assert_eq!(d["items"][0]["unitPrice"], "1499.00");
    assert_eq!(d["items"][0]["status"], "CONFIRMED");
    assert_eq!(d["payments"][0]["status"], "CAPTURED");
    let history: Vec<&str> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["PENDING", "CONFIRMED"]);
    assert_eq!(d["shippingAddress"]["city"], "Austin");
    let other = shop.app.user(Role::Customer).await;
    shop.app
        .get(&format!("/api/orders/{order}"))
        .bearer(&other.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "order_not_found");
    shop.app
        .get("/api/orders/abc")
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_path");
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_a_paid_order_restocks_and_refunds_it(db: sqlx::PgPool) {
    let (shop, c) = shop(db).await;
    let order = shop.order(c.drizzle, 3, true).await;
    assert_eq!(shop.stock(c.drizzle).await, (7, 0));
    let cancel = || {
        shop.app
            .post(&format!("/api/orders/{order}/cancel"))
            .bearer(&shop.buyer.token)
            .json(&json!({"reason": "changed my mind"}))
            .send()
    };
    let cancelled = cancel().await;
    cancelled.expect(StatusCode::OK);
    assert_eq!(cancelled.json["status"], "CANCELLED");
    assert_eq!(cancelled.json["paymentStatus"], "REFUNDED");
    assert_eq!(
        cancelled.json["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["reason"],
        "changed my mind"
    );
    assert_eq!(
        shop.stock(c.drizzle).await,
        (10, 0),
        "the units are back on the shelf"
    );
    let refunds: Vec<Value> = shop
        .gateway
        .charges()
        .await
        .iter()
        .flat_map(|c| c["refunds"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(refunds.len(), 1);
    // Cancelling again changes nothing and refunds nothing more.
    cancel().await.expect(StatusCode::OK);
    let refunds: usize = shop
        .gateway
        .charges()
        .await
        .iter()
        .map(|c| c["refunds"].as_array().map_or(0, |r| r.len()))
        .sum();
    assert_eq!(refunds, 1);
    // The freed units can be bought again.
    shop.order(c.drizzle, 10, true).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cancelling_an_unpaid_order_releases_its_reservation(db: sqlx::PgPool) {
    let (shop, c) = shop(db).await;
    let order = shop.order(c.drizzle, 4, false).await;
    assert_eq!(shop.stock(c.drizzle).await, (10, 4));
    let cancelled = shop
        .app
        .post(&format!("/api/orders/{order}/cancel"))
        .bearer(&shop.buyer.token)
        .json(&json!({}))
        .send()
        .await;
    cancelled.expect(StatusCode::OK);
    assert_eq!(cancelled.json["status"], "CANCELLED");
    assert_eq!(shop.stock(c.drizzle).await, (10, 0));
    assert_eq!(shop.gateway.captures().await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_shipped_order_cannot_be_cancelled(db: sqlx::PgPool) {
    let (shop, c) = shop(db).await;
    let order = shop.order(c.drizzle, 1, true).await;
    sqlx::query("UPDATE orders SET status = 'SHIPPED' WHERE order_id = $1::bigint")
        .bind(&order)
        .execute(&shop.app.db)
        .await
        .unwrap();
    shop.app
        .post(&format!("/api/orders/{order}/cancel"))
        .bearer(&shop.buyer.token)
        .json(&json!({}))
        .send()
        .await
        .expect_error(StatusCode::CONFLICT, "order_not_cancellable");
    let other = shop.app.user(Role::Customer).await;
    shop.app
        .post(&format!("/api/orders/{order}/cancel"))
        .bearer(&other.token)
        .json(&json!({}))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "order_not_found");
    assert_eq!(shop.gateway.charges().await[0]["amount_refunded"], "0.00");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_seller_sees_only_its_own_paid_lines(db: sqlx::PgPool) {
    let (shop, c) = shop(db.clone()).await;
    let seller = shop.app.user(Role::Seller).await;
    sqlx::query("UPDATE products SET seller_id = $1 WHERE product_id = $2")
        .bind(seller.seller_id.unwrap())
        .bind(c.ember)
        .execute(&db)
        .await
        .unwrap();
    shop.order(c.ember, 2, true).await;
    shop.order(c.drizzle, 1, true).await;
    shop.order(c.ember, 1, false).await;
    let lines = shop
        .app
        .get("/api/seller/orders")
        .bearer(&seller.token)
        .send()
        .await;
    lines.expect(StatusCode::OK);
    let lines = lines.json["lines"].as_array().unwrap().clone();
    assert_eq!(
        lines.len(),
        1,
        "only the paid order of its own product: {lines:?}"
    );
    assert_eq!(lines[0]["item"]["productId"], c.ember.to_string());
    assert_eq!(lines[0]["item"]["quantity"], 2);
    shop.app
        .get("/api/seller/orders")
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "seller_only");
}

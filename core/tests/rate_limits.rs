//! The checkout routes' rate limits against real Redis: per buyer, per address, and the global
//! cap on checkouts in flight; each answers 429 with `Retry-After`.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use shared_model::auth::Role;
use support::TestApp;
use support::shop::{Shop, illinois};

async fn limited_shop(db: sqlx::PgPool, per_buyer: u32, per_ip: u32, cap: u32) -> Shop {
    Shop::open(
        db,
        &[
            ("EDGESHOP_RATE_LIMIT_PER_BUYER", per_buyer.to_string()),
            ("EDGESHOP_RATE_LIMIT_PER_IP", per_ip.to_string()),
            ("EDGESHOP_MAX_CONCURRENT_CHECKOUTS", cap.to_string()),
            ("EDGESHOP_REQUEST_TIMEOUT_MS", "1000".to_owned()),
        ],
        Duration::from_secs(5),
        illinois(),
    )
    .await
}

async fn initiate(
    app: &TestApp,
    token: &str,
    address: &str,
    product: i64,
) -> support::TestResponse {
    app.post("/api/checkout/initiate")
        .bearer(token)
        .json(&json!({"items": [{"productId": product.to_string(), "quantity": 1}], "shippingAddressId": address}))
        .send()
        .await
}

fn retry_after(response: &support::TestResponse) -> u64 {
    response
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_buyer_gets_one_checkout_request_a_second(db: sqlx::PgPool) {
    let shop = limited_shop(db, 1, 0, 0).await;
    let (app, ember) = (&shop.app, shop.catalog.ember);
    // Aligned to the start of a second, so both calls fall in one window.
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    if into_second > 600 {
        tokio::time::sleep(Duration::from_millis(u64::from(1_000 - into_second))).await;
    }
    initiate(app, &shop.buyer.token, &shop.address, ember)
        .await
        .expect(StatusCode::CREATED);
    let limited = initiate(app, &shop.buyer.token, &shop.address, ember).await;
    limited.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!((1..=2).contains(&retry_after(&limited)));
    // Reads are not limited, and after the window the buyer may go again.
    app.get("/api/orders")
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect(StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    initiate(app, &shop.buyer.token, &shop.address, ember)
        .await
        .expect(StatusCode::CREATED);
}

#[sqlx::test(migrations = "../migrations")]
async fn one_address_gets_a_few_checkout_requests_a_second(db: sqlx::PgPool) {
    let shop = limited_shop(db, 0, 3, 0).await;
    let (app, ember) = (&shop.app, shop.catalog.ember);
    let mut buyers = Vec::new();
    for _ in 0..5 {
        buyers.push(app.user(Role::Customer).await);
    }
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    if into_second > 300 {
        tokio::time::sleep(Duration::from_millis(u64::from(1_000 - into_second))).await;
    }
    // Every call of this test comes from one (unknown) address, whichever buyer makes it.
    let mut statuses = Vec::new();
    for buyer in &buyers {
        statuses.push(
            initiate(app, &buyer.token, &shop.address, ember)
                .await
                .status,
        );
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        limited >= 2,
        "at most three of five get through: {statuses:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn checkouts_in_flight_are_capped_across_processes(db: sqlx::PgPool) {
    let shop = limited_shop(db, 0, 0, 1).await;
    let (app, ember) = (&shop.app, shop.catalog.ember);
    // Another process is in the middle of a checkout: the one slot is taken.
    let slots = app.state.redis.key("rl:checkouts-in-flight");
    let mut conn = app.state.redis.connection().await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let _: () = redis::cmd("ZADD")
        .arg(&slots)
        .arg(now)
        .arg("elsewhere")
        .query_async(&mut conn)
        .await
        .unwrap();
    let busy = initiate(app, &shop.buyer.token, &shop.address, ember).await;
    busy.expect_error(StatusCode::TOO_MANY_REQUESTS, "checkout_busy");
    assert_eq!(retry_after(&busy), 1);
    // That process died: its slot goes stale after the request timeout, and checkouts resume;
    // a finished checkout gives its own slot back.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    initiate(app, &shop.buyer.token, &shop.address, ember)
        .await
        .expect(StatusCode::CREATED);
    let left: i64 = redis::cmd("ZCARD")
        .arg(&slots)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_address_the_edge_reports_is_believed_only_from_the_edge(db: sqlx::PgPool) {
    let shop = Shop::open(
        db,
        &[
            ("EDGESHOP_RATE_LIMIT_PER_BUYER", "0".to_owned()),
            ("EDGESHOP_RATE_LIMIT_PER_IP", "1".to_owned()),
            ("EDGESHOP_MAX_CONCURRENT_CHECKOUTS", "0".to_owned()),
            ("EDGESHOP_EDGE_SECRET", "edge-secret-of-the-test".to_owned()),
        ],
        Duration::from_secs(5),
        illinois(),
    )
    .await;
    let (app, ember) = (&shop.app, shop.catalog.ember);
    let into_second = chrono::Utc::now().timestamp_subsec_millis();
    if into_second > 600 {
        tokio::time::sleep(Duration::from_millis(u64::from(1_000 - into_second))).await;
    }
    let from = |address: &str, secret: &str| {
        app.post("/api/checkout/initiate")
            .bearer(&shop.buyer.token)
            .header("x-forwarded-for", address)
            .header("x-edge-secret", secret)
            .json(&json!({"items": [{"productId": ember.to_string(), "quantity": 1}], "shippingAddressId": shop.address}))
    };
    // Through the edge, two buyers' addresses are two budgets of one request a second.
    from("198.51.100.1", "edge-secret-of-the-test")
        .send()
        .await
        .expect(StatusCode::CREATED);
    from("198.51.100.2", "edge-secret-of-the-test")
        .send()
        .await
        .expect(StatusCode::CREATED);
    from("198.51.100.1", "edge-secret-of-the-test")
        .send()
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Anyone else naming an address is counted as who they are (one unknown peer here).
    from("198.51.100.3", "not-the-secret")
        .send()
        .await
        .expect(StatusCode::CREATED);
    from("198.51.100.4", "not-the-secret")
        .send()
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

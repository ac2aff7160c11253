//! Flash sales through the HTTP API with real PostgreSQL, Redis and the sandbox gateway:
//! scheduling, admissions, exactly `units` orders however buyers race and walk away, the pool
//! rebuilt after Redis loses it, and the admission rate on a simulated clock.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use edgeshop_core::flash_sales::pool::{self, Joined, KeptPlace, Pace, SaleKeys};
use edgeshop_core::inventory::counters;
use edgeshop_core::outbox::relay::Relay;
use serde_json::{Value, json};
use shared_model::auth::Role;
use shared_model::flash_sale::{AdmissionKey, AdmissionToken, LOTTERY_SPAN, Place, QueueTicket};
use shared_model::ids::{FlashSaleId, InventoryId, UserId};
use support::shop::{Shop, illinois};
use support::{ADMISSION_SECRET, TestApp, TestUser};

/// A shop with the small catalog and a signed-in buyer.
async fn shop(db: sqlx::PgPool) -> Shop {
    Shop::open(db, &[], Duration::from_secs(5), illinois()).await
}

fn key() -> AdmissionKey {
    AdmissionKey::from_secret(ADMISSION_SECRET).unwrap()
}

/// What the edge hands an admitted buyer.
fn admission(sale: &str, user: i64, expires_at: i64) -> String {
    key()
        .sign_admission(&AdmissionToken {
            sale: FlashSaleId::new(sale.parse().unwrap()),
            user: UserId::new(user),
            ticket_id: uuid::Uuid::new_v4(),
            expires_at,
        })
        .unwrap()
}

fn soon() -> i64 {
    Utc::now().timestamp() + 300
}

async fn create_sale(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    let created = app
        .post("/api/admin/flash-sales")
        .bearer(&admin.token)
        .json(&body)
        .send()
        .await;
    created.expect(StatusCode::CREATED);
    created.json
}

/// Five embers on sale from a minute from now, scheduled by a new admin.
async fn sale_of_five_in_a_minute(shop: &Shop) -> Value {
    let admin = shop.app.user(Role::Admin).await;
    let in_a_minute = (Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    create_sale(
        &shop.app,
        &admin,
        json!({"productId": shop.catalog.ember.to_string(), "units": 5, "salePrice": "9.99", "startsAt": in_a_minute}),
    )
    .await
}

/// Five embers on sale from a minute from now (buyers join its waiting room); answers its id.
async fn waiting_sale_of_five(shop: &Shop) -> i64 {
    let sale = sale_of_five_in_a_minute(shop).await;
    sale["flashSaleId"].as_str().unwrap().parse().unwrap()
}

/// Five embers on sale since a second ago, scheduled by a new admin; answers the sale's id.
async fn live_sale_of_five(shop: &Shop) -> String {
    live_sale_of(shop, 5).await
}

/// `units` embers on sale since a second ago, scheduled by a new admin; answers the sale's id.
async fn live_sale_of(shop: &Shop, units: u32) -> String {
    let admin = shop.app.user(Role::Admin).await;
    let sale = create_sale(
        &shop.app,
        &admin,
        json!({"productId": shop.catalog.ember.to_string(), "units": units, "salePrice": "9.99", "startsAt": started_a_second_ago()}),
    )
    .await;
    sale["flashSaleId"].as_str().unwrap().to_owned()
}

/// A buyer with an address, ready to check out.
struct Buyer {
    user: TestUser,
    address: String,
}

async fn buyers(app: &TestApp, n: usize) -> Vec<Buyer> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let user = app.user(Role::Customer).await;
        let address = app
            .post("/api/users/me/addresses")
            .bearer(&user.token)
            .json(&illinois())
            .send()
            .await
            .json["addressId"]
            .as_str()
            .unwrap()
            .to_owned();
        all.push(Buyer { user, address });
    }
    all
}

async fn initiate(
    app: &TestApp,
    buyer: &Buyer,
    product: i64,
    quantity: u32,
    admission: Option<&str>,
) -> support::TestResponse {
    app.post("/api/checkout/initiate")
        .bearer(&buyer.user.token)
        .json(&json!({
            "items": [{"productId": product.to_string(), "quantity": quantity}],
            "shippingAddressId": buyer.address,
            "admissionToken": admission,
        }))
        .send()
        .await
}

async fn pay(app: &TestApp, buyer: &Buyer, checkout: &str, card: &str) -> support::TestResponse {
    app.post(&format!("/api/checkout/{checkout}/pay"))
        .bearer(&buyer.user.token)
        .header("idempotency-key", &uuid::Uuid::new_v4().to_string())
        .json(&json!({"paymentMethod": "CARD", "paymentToken": card}))
        .send()
        .await
}

/// Delivers the outbox to the core's own consumers, as a serving process's relay does.
async fn relay(app: &TestApp) {
    Relay::new(
        app.db.clone(),
        edgeshop_core::outbox::consumers::in_process(&app.state),
    )
    .deliver_pending()
    .await
    .unwrap();
}

async fn sale_view(app: &TestApp, sale: &str) -> Value {
    let view = app.get(&format!("/api/flash-sales/{sale}")).send().await;
    view.expect(StatusCode::OK);
    view.json
}

async fn tokens_by_status(app: &TestApp, status: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM flash_sale_tokens WHERE status = $1")
        .bind(status)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn started_a_second_ago() -> String {
    (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_schedules_changes_and_cancels_a_sale(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let admin = app.user(Role::Admin).await;
    let ember = shop.catalog.ember;
    let in_an_hour = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let sale = |fields: Value| {
        let mut body = json!({"productId": ember.to_string(), "units": 50, "salePrice": "9.99", "startsAt": in_an_hour});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // Only admins, and only good settings.
    app.post("/api/admin/flash-sales")
        .bearer(&shop.buyer.token)
        .json(&sale(json!({})))
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "admin_only");
    for (bad, field) in [
        (json!({"units": 0}), "units"),
        (json!({"salePrice": "25.00"}), "salePrice"),
        (json!({"salePrice": "-1"}), "salePrice"),
        (json!({"perBuyerLimit": 0}), "perBuyerLimit"),
        (json!({"endsAt": "2000-01-01T00:00:00Z"}), "endsAt"),
        (
            json!({"purchaseTokenTtlSeconds": 99999}),
            "purchaseTokenTtlSeconds",
        ),
    ] {
        let refused = app
            .post("/api/admin/flash-sales")
            .bearer(&admin.token)
            .json(&sale(bad.clone()))
            .send()
            .await;
        refused.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text.contains(field), "{bad} → {}", refused.text);
    }
    app.post("/api/admin/flash-sales")
        .bearer(&admin.token)
        .json(&sale(json!({"productId": "999999"})))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "product_not_found");

    // Scheduled an hour out: upcoming, not yet pre-warmed, and the defaults of the seed.
    let created = create_sale(app, &admin, sale(json!({}))).await;
    let id = created["flashSaleId"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "UPCOMING");
    assert_eq!(created["perBuyerLimit"], 1);
    assert_eq!(created["admissionRatePerMinute"], 1000);
    assert_eq!(created["maxActiveBuyers"], 1000);
    assert_eq!(created["purchaseTokenTtlSeconds"], 300);
    assert!(created["prewarmedAt"].is_null());

    let changed = app
        .patch(&format!("/api/admin/flash-sales/{id}"))
        .bearer(&admin.token)
        .json(&json!({"units": 40, "salePrice": "8.99", "maxActiveBuyers": 250}))
        .send()
        .await;
    changed.expect(StatusCode::OK);
    assert_eq!(changed.json["maxActiveBuyers"], 250);
    assert_eq!(
        (
            changed.json["units"].as_u64(),
            changed.json["salePrice"].as_str()
        ),
        (Some(40), Some("8.99"))
    );

    let warmed = app
        .post(&format!("/api/admin/flash-sales/{id}/prewarm"))
        .bearer(&admin.token)
        .send()
        .await;
    warmed.expect(StatusCode::OK);
    assert!(warmed.json["prewarmedAt"].is_string());
    let public = sale_view(app, &id).await;
    assert_eq!(
        (public["unitsLeft"].as_u64(), public["soldOut"].as_bool()),
        (Some(40), Some(false))
    );

    // An hour out, the item still sells as usual, at its usual price; from 30 minutes before
    // the start the sale governs it, and before the start nobody buys it.
    let two = buyers(app, 2).await;
    let usual = initiate(app, &two[0], ember, 1, None).await;
    usual.expect(StatusCode::CREATED);
    assert_eq!(usual.json["items"][0]["unitPrice"], "19.99");
    let in_ten_minutes = (Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    app.patch(&format!("/api/admin/flash-sales/{id}"))
        .bearer(&admin.token)
        .json(&json!({"startsAt": in_ten_minutes}))
        .send()
        .await
        .expect(StatusCode::OK);
    let admitted = admission(&id, two[1].user.user_id, soon());
    initiate(app, &two[1], ember, 1, Some(&admitted))
        .await
        .expect_error(StatusCode::CONFLICT, "sale_not_started");

    let cancelled = app
        .post(&format!("/api/admin/flash-sales/{id}/cancel"))
        .bearer(&admin.token)
        .send()
        .await;
    cancelled.expect(StatusCode::OK);
    assert_eq!(cancelled.json["status"], "CANCELLED");
    app.post(&format!("/api/flash-sales/{id}/queue"))
        .bearer(&shop.buyer.token)
        .send()
        .await
        .expect_error(StatusCode::CONFLICT, "sale_closed");
    app.get("/api/flash-sales/424242")
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "flash_sale_not_found");
}

/// Buyers' reads of a sale (joining, the admission cursor, the public view) come from the
/// in-process copy of current sales; a sale cancelled by another core process closes here
/// within the copy's second.
#[sqlx::test(migrations = "../migrations")]
async fn a_sale_another_process_cancels_closes_here_within_a_second(db: sqlx::PgPool) {
    let shop = shop(db.clone()).await;
    let app = &shop.app;
    let created = sale_of_five_in_a_minute(&shop).await;
    let id = created["flashSaleId"].as_str().unwrap().to_owned();
    let join = || {
        app.post(&format!("/api/flash-sales/{id}/queue"))
            .bearer(&shop.buyer.token)
            .send()
    };
    join().await.expect(StatusCode::OK);
    assert_eq!(sale_view(app, &id).await["status"], "UPCOMING");

    // Another process cancels it: straight in the record, this process is not told.
    sqlx::query("UPDATE flash_sales SET status = 'CANCELLED' WHERE flash_sale_id = $1")
        .bind(id.parse::<i64>().unwrap())
        .execute(&db)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    join()
        .await
        .expect_error(StatusCode::CONFLICT, "sale_closed");
    assert_eq!(sale_view(app, &id).await["status"], "CANCELLED");
}

#[sqlx::test(migrations = "../migrations")]
async fn admissions_are_checked_and_each_buys_once(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let admin = app.user(Role::Admin).await;
    let ember = shop.catalog.ember;
    let sale = create_sale(
        app,
        &admin,
        json!({"productId": ember.to_string(), "units": 5, "salePrice": "9.99", "startsAt": started_a_second_ago(), "perBuyerLimit": 1}),
    )
    .await;
    let id = sale["flashSaleId"].as_str().unwrap().to_owned();
    let all = buyers(app, 2).await;
    let (alice, bob) = (&all[0], &all[1]);

    initiate(app, alice, ember, 1, None)
        .await
        .expect_error(StatusCode::FORBIDDEN, "admission_required");
    let forged = AdmissionKey::from_secret("some-other-secret-the-edge-never-had!!")
        .unwrap()
        .sign_admission(&AdmissionToken {
            sale: FlashSaleId::new(id.parse().unwrap()),
            user: UserId::new(alice.user.user_id),
            ticket_id: uuid::Uuid::new_v4(),
            expires_at: soon(),
        })
        .unwrap();
    for refused in [
        forged,
        admission(&id, bob.user.user_id, soon()),
        admission(&id, alice.user.user_id, Utc::now().timestamp() - 1),
        admission("424242", alice.user.user_id, soon()),
        "not-a-token".to_owned(),
    ] {
        initiate(app, alice, ember, 1, Some(&refused))
            .await
            .expect_error(StatusCode::FORBIDDEN, "admission_invalid");
    }
    let good = admission(&id, alice.user.user_id, soon());
    initiate(app, alice, ember, 2, Some(&good))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let bought = initiate(app, alice, ember, 1, Some(&good)).await;
    bought.expect(StatusCode::CREATED);
    // The sale's price, not the catalog's.
    assert_eq!(bought.json["items"][0]["unitPrice"], "9.99");
    // The same admission again: refused, whoever holds it.
    initiate(app, alice, ember, 1, Some(&good))
        .await
        .expect_error(StatusCode::FORBIDDEN, "admission_used");
    // A second admission (another device) for the same buyer: the limit holds.
    let second = admission(&id, alice.user.user_id, soon());
    initiate(app, alice, ember, 1, Some(&second))
        .await
        .expect_error(StatusCode::CONFLICT, "buyer_limit_reached");
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 4);
    assert_eq!(tokens_by_status(app, "CLAIMED").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_checkout_refused_after_its_claim_gives_the_token_back(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let ember = shop.catalog.ember;
    let id = live_sale_of(&shop, 1).await;
    let all = buyers(app, 2).await;
    let (alice, bob) = (&all[0], &all[1]);
    let good = admission(&id, alice.user.user_id, soon());

    // The token is claimed before the address is read; the address is someone else's.
    app.post("/api/checkout/initiate")
        .bearer(&alice.user.token)
        .json(&json!({
            "items": [{"productId": ember.to_string(), "quantity": 1}],
            "shippingAddressId": bob.address,
            "admissionToken": good,
        }))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "address_not_found");
    assert_eq!(tokens_by_status(app, "CLAIMED").await, 0);
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 1);

    // The only unit is still for sale, and the same admission may buy it.
    initiate(app, alice, ember, 1, Some(&good))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(tokens_by_status(app, "CLAIMED").await, 1);
    let late = admission(&id, bob.user.user_id, soon());
    initiate(app, bob, ember, 1, Some(&late))
        .await
        .expect_error(StatusCode::CONFLICT, "sold_out");
}

/// A lapsed hold's token goes back to the pool only with its unit. The release commits in
/// PostgreSQL before its Redis hold is returned; the token's return (from the release's event)
/// can run in between, or after a return that failed. With the stock exactly the sale's units,
/// the next buyer then held a token while Redis said the unit was taken: "out of stock".
#[sqlx::test(migrations = "../migrations")]
async fn a_returned_token_comes_back_with_its_unit(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let ember = shop.catalog.ember;
    // One unit in stock, before anything loads it into Redis.
    sqlx::query("UPDATE inventory SET quantity_total = 1 WHERE product_id = $1")
        .bind(ember)
        .execute(&app.db)
        .await
        .unwrap();
    let admin = app.user(Role::Admin).await;
    let sale = create_sale(
        app,
        &admin,
        json!({"productId": ember.to_string(), "units": 1, "salePrice": "9.99",
               "startsAt": started_a_second_ago(), "purchaseTokenTtlSeconds": 2}),
    )
    .await;
    let id = sale["flashSaleId"].as_str().unwrap().to_owned();
    let all = buyers(app, 2).await;
    let (alice, bob) = (&all[0], &all[1]);
    initiate(
        app,
        alice,
        ember,
        1,
        Some(&admission(&id, alice.user.user_id, soon())),
    )
    .await
    .expect(StatusCode::CREATED);

    let stock = app.state.reservations.keys();
    let row: i64 = sqlx::query_scalar("SELECT inventory_id FROM inventory WHERE product_id = $1")
        .bind(ember)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let row = InventoryId::new(row);
    let holds = counters::holds(stock, 10).await.unwrap();
    let [(saga, expires_ms)] = holds[..] else {
        panic!("one hold, alice's: {holds:?}");
    };
    let mut redis = app.state.redis.connection().await.unwrap();
    let held: Vec<(String, i64)> = redis::cmd("HGETALL")
        .arg(stock.hold(saga))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(held, [(row.to_string(), 1)]);

    // Alice walks away; her hold lapses and the sweep releases it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let swept = edgeshop_core::checkout::jobs::sweep_expired(&app.state)
        .await
        .unwrap();
    assert_eq!(swept.expired_checkouts, 1);
    assert_eq!(counters::counter(stock, row).await.unwrap(), Some(1));
    // Redis as it is between the release's commit and the hold's return.
    let _: () = redis::pipe()
        .hset(stock.hold(saga), row.to_string(), 1)
        .zadd(stock.expiry(), saga.to_string(), expires_ms)
        .set(stock.counter(row), 0)
        .query_async(&mut redis)
        .await
        .unwrap();

    relay(app).await;
    assert_eq!(tokens_by_status(app, "RETURNED").await, 1);
    assert_eq!(
        counters::counter(stock, row).await.unwrap(),
        Some(1),
        "the unit is back in Redis with its token, once"
    );
    // The checkout's own return, late, finds the hold already returned.
    app.state.reservations.return_hold(saga).await;
    assert_eq!(counters::counter(stock, row).await.unwrap(), Some(1));

    initiate(
        app,
        bob,
        ember,
        1,
        Some(&admission(&id, bob.user.user_id, soon())),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(counters::counter(stock, row).await.unwrap(), Some(0));
}

#[sqlx::test(migrations = "../migrations")]
async fn exactly_the_units_are_sold_however_buyers_race_and_walk_away(db: sqlx::PgPool) {
    let shop = Shop::open(db, &[], Duration::from_secs(5), illinois()).await;
    let app = &shop.app;
    let admin = app.user(Role::Admin).await;
    let ember = shop.catalog.ember;
    const UNITS: usize = 8;
    let sale = create_sale(
        app,
        &admin,
        json!({"productId": ember.to_string(), "units": UNITS, "salePrice": "9.99",
               "startsAt": started_a_second_ago(), "purchaseTokenTtlSeconds": 2}),
    )
    .await;
    let id = sale["flashSaleId"].as_str().unwrap().to_owned();
    let everyone = buyers(app, 30).await;
    let admissions: Vec<String> = everyone
        .iter()
        .map(|b| admission(&id, b.user.user_id, soon()))
        .collect();

    // Round one: everyone at once. Five pay, two are declined, one walks away.
    let race = |who: Vec<usize>| {
        let everyone = &everyone;
        let admissions = &admissions;
        async move {
            let answers = futures_util::future::join_all(who.iter().map(|&i| async move {
                (
                    i,
                    initiate(app, &everyone[i], ember, 1, Some(&admissions[i])).await,
                )
            }))
            .await;
            let mut won = Vec::new();
            for (i, answer) in answers {
                match answer.status {
                    StatusCode::CREATED => {
                        won.push((i, answer.json["checkoutId"].as_str().unwrap().to_owned()))
                    }
                    _ => {
                        answer.expect_error(StatusCode::CONFLICT, "sold_out");
                        // Every unit is held, none sold yet: the buyer is told when the first
                        // hold (two seconds) may give one back.
                        let details = &answer.json["error"]["details"];
                        assert_eq!(details["unitsMayReturn"], true, "{}", answer.text);
                        let wait = details["retryAfterSeconds"].as_u64().unwrap_or(0);
                        assert!((1..=2).contains(&wait), "{}", answer.text);
                    }
                }
            }
            won
        }
    };
    let won = race((0..everyone.len()).collect()).await;
    assert_eq!(won.len(), UNITS, "exactly one winner per unit");
    assert_eq!(sale_view(app, &id).await["soldOut"], true);
    for (n, (i, checkout)) in won.iter().enumerate() {
        if n < 5 {
            pay(app, &everyone[*i], checkout, "tok_visa")
                .await
                .expect(StatusCode::OK);
        } else if n < 7 {
            pay(app, &everyone[*i], checkout, "tok_chargeDeclined")
                .await
                .expect(StatusCode::PAYMENT_REQUIRED);
        }
    }
    relay(app).await;
    assert_eq!(tokens_by_status(app, "SOLD").await, 5);

    // The declined and the absent lose their hold when it lapses; their units are sold again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let swept = edgeshop_core::checkout::jobs::sweep_expired(&app.state)
        .await
        .unwrap();
    assert_eq!(swept.expired_checkouts, 3);
    relay(app).await;
    assert_eq!(tokens_by_status(app, "RETURNED").await, 3);
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 3);

    let winners: Vec<usize> = won.iter().map(|(i, _)| *i).collect();
    let rest: Vec<usize> = (0..everyone.len())
        .filter(|i| !winners.contains(i))
        .collect();
    let second = race(rest).await;
    assert_eq!(
        second.len(),
        3,
        "the three returned units, to three more buyers"
    );
    for (i, checkout) in &second {
        pay(app, &everyone[*i], checkout, "tok_visa")
            .await
            .expect(StatusCode::OK);
    }
    relay(app).await;

    let confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.order_id
          WHERE i.product_id = $1 AND o.status = 'CONFIRMED'",
    )
    .bind(ember)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(confirmed, UNITS as i64, "exactly the units, never more");
    assert_eq!(tokens_by_status(app, "SOLD").await, UNITS as i64);
    assert_eq!(tokens_by_status(app, "CLAIMED").await, 0);
    let (total, reserved): (i32, i32) = sqlx::query_as(
        "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1",
    )
    .bind(ember)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((total, reserved), (100 - UNITS as i32, 0));
    let view = sale_view(app, &id).await;
    assert_eq!(
        (view["unitsSold"].as_u64(), view["unitsLeft"].as_u64()),
        (Some(UNITS as u64), Some(0))
    );
    assert_eq!(view["status"], "SOLD_OUT");

    // Every unit sold: nothing can come back, and a buyer still in the queue is told so.
    let late = (0..everyone.len())
        .find(|i| !winners.contains(i) && !second.iter().any(|(w, _)| w == i))
        .unwrap();
    let refused = initiate(app, &everyone[late], ember, 1, Some(&admissions[late])).await;
    refused.expect_error(StatusCode::CONFLICT, "sold_out");
    assert_eq!(refused.json["error"]["details"]["unitsMayReturn"], false);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_pool_is_rebuilt_from_the_record_when_redis_loses_it(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let ember = shop.catalog.ember;
    let id = live_sale_of_five(&shop).await;
    let all = buyers(app, 4).await;
    let sold = initiate(
        app,
        &all[0],
        ember,
        1,
        Some(&admission(&id, all[0].user.user_id, soon())),
    )
    .await;
    sold.expect(StatusCode::CREATED);
    pay(
        app,
        &all[0],
        sold.json["checkoutId"].as_str().unwrap(),
        "tok_visa",
    )
    .await
    .expect(StatusCode::OK);
    initiate(
        app,
        &all[1],
        ember,
        1,
        Some(&admission(&id, all[1].user.user_id, soon())),
    )
    .await
    .expect(StatusCode::CREATED);
    relay(app).await;

    // Redis forgets everything of this shop (a restart without persistence).
    let mut conn = app.state.redis.connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.state.redis.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();

    // The next claim rebuilds the pool: one sold, one held, three free; the buyer who bought
    // is still at the limit.
    initiate(
        app,
        &all[0],
        ember,
        1,
        Some(&admission(&id, all[0].user.user_id, soon())),
    )
    .await
    .expect_error(StatusCode::CONFLICT, "buyer_limit_reached");
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 3);
    initiate(
        app,
        &all[2],
        ember,
        1,
        Some(&admission(&id, all[2].user.user_id, soon())),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 2);
    let held: Vec<i32> = sqlx::query_scalar(
        "SELECT token FROM flash_sale_tokens WHERE status IN ('CLAIMED', 'SOLD') ORDER BY token",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let mut distinct = held.clone();
    distinct.dedup();
    assert_eq!(
        (held.len(), distinct.len()),
        (3, 3),
        "no token held twice: {held:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn buyers_join_once_and_early_joiners_are_shuffled(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = waiting_sale_of_five(&shop).await;
    let join = |token: String| async move {
        let joined = app
            .post(&format!("/api/flash-sales/{id}/queue"))
            .bearer(&token)
            .send()
            .await;
        joined.expect(StatusCode::OK);
        joined.json
    };
    let first = join(shop.buyer.token.clone()).await;
    let again = join(shop.buyer.token.clone()).await;
    assert_eq!(
        first["ticket"], again["ticket"],
        "a second join is the same ticket"
    );
    let ticket: QueueTicket = key()
        .verify_ticket(
            first["ticket"].as_str().unwrap(),
            FlashSaleId::new(id),
            UserId::new(shop.buyer.user_id),
        )
        .unwrap();
    assert!(matches!(ticket.place, Place::BeforeStart { lottery } if lottery < LOTTERY_SPAN));
    app.post(&format!("/api/flash-sales/{id}/queue"))
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "missing_token");

    let cursor = app
        .get(&format!("/api/flash-sales/{id}/admission"))
        .send()
        .await;
    cursor.expect(StatusCode::OK);
    assert_eq!(
        (
            cursor.json["started"].as_bool(),
            cursor.json["joined"].as_u64()
        ),
        (Some(false), Some(1))
    );
}

/// One buyer joining from many devices at once holds one ticket: the first join takes the
/// place, and the others find it kept and are given the same ticket, signed again.
#[sqlx::test(migrations = "../migrations")]
async fn a_buyer_joining_from_many_devices_at_once_holds_one_ticket(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = waiting_sale_of_five(&shop).await;
    let path = format!("/api/flash-sales/{id}/queue");
    let answers = futures_util::future::join_all(
        (0..16).map(|_| app.post(&path).bearer(&shop.buyer.token).send()),
    )
    .await;
    let tickets: std::collections::HashSet<String> = answers
        .iter()
        .map(|joined| {
            joined.expect(StatusCode::OK);
            joined.json["ticket"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(tickets.len(), 1, "one ticket for all devices: {tickets:?}");
    let cursor = app
        .get(&format!("/api/flash-sales/{id}/admission"))
        .send()
        .await;
    cursor.expect(StatusCode::OK);
    assert_eq!(cursor.json["joined"].as_u64(), Some(1), "one place taken");
}

/// Joining takes a valid token, not a live session: a ticket buys nothing by itself, and most
/// joiners never reach the checkout, which asks. A token whose session ended joins (its own
/// place, no one else's) but cannot buy.
#[sqlx::test(migrations = "../migrations")]
async fn a_signed_out_token_keeps_its_place_but_cannot_buy(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let ember = shop.catalog.ember;
    let id = live_sale_of_five(&shop).await;
    let buyer = &buyers(app, 1).await[0];
    let path = format!("/api/flash-sales/{id}/queue");
    let joined = app.post(&path).bearer(&buyer.user.token).send().await;
    joined.expect(StatusCode::OK);
    app.post("/api/auth/logout")
        .bearer(&buyer.user.token)
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    let again = app.post(&path).bearer(&buyer.user.token).send().await;
    again.expect(StatusCode::OK);
    assert_eq!(
        again.json["ticket"], joined.json["ticket"],
        "the same place"
    );
    app.post(&path)
        .bearer("not-a-token")
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let good = admission(&id, buyer.user.user_id, soon());
    initiate(app, buyer, ember, 1, Some(&good))
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "session_expired");
    assert_eq!(tokens_by_status(app, "CLAIMED").await, 0);
}

/// A core before this one kept the signed ticket in the queue (empty while signing it): a sale
/// live across the upgrade answers those buyers' joins with the ticket they hold.
#[sqlx::test(migrations = "../migrations")]
async fn a_ticket_an_earlier_core_kept_is_answered_as_it_was(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = live_sale_of_five(&shop).await;
    let sale = FlashSaleId::new(id.parse().unwrap());
    let signing = app.user(Role::Customer).await;
    let held = key()
        .sign_ticket(&QueueTicket {
            sale,
            user: UserId::new(shop.buyer.user_id),
            ticket_id: uuid::Uuid::new_v4(),
            place: Place::AfterStart {
                arrived_ms: Utc::now().timestamp_millis(),
            },
            joined_at: Utc::now().timestamp(),
        })
        .unwrap();
    // The layout that core wrote: the buyer's id to the signed ticket.
    let joined = app.state.redis.key(&format!("fs:{{{id}}}:joined"));
    let mut redis = app.state.redis.connection().await.unwrap();
    let _: () = redis::pipe()
        .hset(&joined, shop.buyer.user_id, &held)
        .hset(&joined, signing.user_id, "")
        .query_async(&mut redis)
        .await
        .unwrap();

    let path = format!("/api/flash-sales/{id}/queue");
    let again = app.post(&path).bearer(&shop.buyer.token).send().await;
    again.expect(StatusCode::OK);
    assert_eq!(again.json["ticket"].as_str(), Some(held.as_str()));
    app.post(&path)
        .bearer(&signing.token)
        .send()
        .await
        .expect_error(StatusCode::CONFLICT, "join_in_progress");
}

/// Counts `n` buyers straight into the queue, as a join or the edge's report does: early
/// joiners with a random lottery number, or late ones arrived at `arrived_ms`, a millisecond
/// apart.
async fn join_many(
    app: &TestApp,
    keys: &SaleKeys,
    from: i64,
    n: i64,
    arrived_ms: Option<i64>,
) -> Vec<Place> {
    let joins: Vec<(UserId, KeptPlace)> = (0..n)
        .map(|i| {
            let place = match arrived_ms {
                None => Place::BeforeStart {
                    lottery: rand::random::<u64>() % LOTTERY_SPAN,
                },
                Some(at) => Place::AfterStart { arrived_ms: at + i },
            };
            let kept = KeptPlace {
                ticket_id: uuid::Uuid::new_v4(),
                place,
                joined_at: Utc::now().timestamp(),
            };
            (UserId::new(from + i), kept)
        })
        .collect();
    pool::record_joins(&app.state.redis, keys, &joins)
        .await
        .unwrap()
        .into_iter()
        .map(|joined| match joined {
            Joined::New(kept) => kept.place,
            other => panic!("joined twice: {other:?}"),
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn admission_holds_its_rate_over_a_simulated_minute(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let keys = SaleKeys::new(&app.state.redis, FlashSaleId::new(77));
    let start: DateTime<Utc> = Utc::now();
    let start_ms = start.timestamp_millis();
    const RATE: u32 = 600;
    let early = join_many(&app, &keys, 1, 300, None).await;
    // The clock runs in 100 ms steps: a minute of admissions in a moment.
    // Nobody checks out here: a window this wide never holds admission up.
    let pace = Pace {
        rate_per_minute: RATE,
        max_active: 1_000_000,
        active_for_ms: 20_000,
        uncounted_after_ms: 10_000,
    };
    let at =
        |ms: i64| pool::advance_admission(&app.state.redis, &keys, start_ms + ms, start_ms, pace);
    let first = at(0).await.unwrap();
    assert_eq!((first.admitted, first.early_joiners), (0, 300));
    // Late joiners arrive a millisecond apart from the start; ten early places are reported
    // after it, too late to be counted.
    let late = join_many(&app, &keys, 1000, 2000, Some(start_ms + 1)).await;
    let reported_late = join_many(&app, &keys, 5000, 10, None).await;
    let mut admitted_at_20s = None;
    for step in 1..=600 {
        let admission = at(step * 100).await.unwrap();
        if step == 200 {
            admitted_at_20s = Some(admission);
        }
    }
    let minute = at(60_000).await.unwrap();
    let expected = f64::from(RATE);
    assert!(
        (minute.admitted as f64 - expected).abs() <= expected * 0.05,
        "{} admitted in a minute at {RATE}/min",
        minute.admitted
    );
    // 20 s in, 200 admitted, all of them early joiners: exactly those at or under the threshold
    // (the early places reported after the start among them: they are in the lottery too).
    let twenty = admitted_at_20s.unwrap();
    let under = early
        .iter()
        .chain(&reported_late)
        .filter(
            |p| matches!(p, Place::BeforeStart { lottery } if *lottery <= twenty.early_threshold),
        )
        .count() as u64;
    assert_eq!(under, twenty.admitted);
    assert_eq!(
        minute.early_joiners, 300,
        "the early count is fixed at the start"
    );
    // Past the early joiners (and with them those reported late), late ones go in by arrival.
    assert_eq!(minute.early_threshold, LOTTERY_SPAN);
    assert!(reported_late.iter().all(
        |p| matches!(p, Place::BeforeStart { lottery } if *lottery <= minute.early_threshold)
    ));
    assert!(minute.admitted > 300);
    let late_admitted = (minute.admitted - 300) as usize;
    assert_eq!(
        Place::AfterStart {
            arrived_ms: minute.late_admitted_until_ms
        },
        late[late_admitted - 1],
        "late joiners admitted up to the last one counted in"
    );
    assert_eq!(minute.last_arrival_ms, start_ms + 2000);

    // With every token held, admission stops; it resumes when one comes back.
    let mut conn = app.state.redis.connection().await.unwrap();
    let warm = format!("{}fs:{{77}}:warm", app.state.redis.prefix());
    let _: () = redis::cmd("SET")
        .arg(&warm)
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Two units are in checkouts that lapse at 2:30 and 2:50 unless paid.
    let deadlines = format!("{}fs:{{77}}:deadlines", app.state.redis.prefix());
    let _: () = redis::cmd("ZADD")
        .arg(&deadlines)
        .arg(start_ms + 170_000)
        .arg("a-later-checkout")
        .arg(start_ms + 150_000)
        .arg("a-checkout")
        .query_async(&mut conn)
        .await
        .unwrap();
    let stopped = at(120_000).await.unwrap();
    assert_eq!(
        stopped.admitted, minute.admitted,
        "sold out: nobody more is admitted"
    );
    assert!(stopped.sold_out);
    assert_eq!(
        stopped.unit_may_return_at_ms,
        Some(start_ms + 150_000),
        "when the first held unit may come back"
    );
    assert_eq!(
        stopped.last_unit_may_return_at_ms,
        Some(start_ms + 170_000),
        "and the last"
    );
    let free = format!("{}fs:{{77}}:free", app.state.redis.prefix());
    let _: () = redis::cmd("SADD")
        .arg(&free)
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let resumed = at(126_000).await.unwrap();
    assert_eq!(
        resumed.admitted,
        minute.admitted + 60,
        "six seconds at 600/min"
    );
    assert_eq!(resumed.unit_may_return_at_ms, None, "not sold out");
    assert_eq!(resumed.last_unit_may_return_at_ms, None);
}

/// A ticket the edge gave whose report never reached the core is admitted all the same: by its
/// place, once someone who arrived after it is, or, at the queue's end, once everyone counted
/// is admitted and it arrived long enough ago. Not while sold out, and a report arriving late
/// never moves admission back.
#[sqlx::test(migrations = "../migrations")]
async fn a_ticket_whose_report_was_lost_is_admitted_once_everyone_counted_is(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let keys = SaleKeys::new(&app.state.redis, FlashSaleId::new(79));
    let start_ms = Utc::now().timestamp_millis();
    // Five late joiners counted, at 1 to 5 ms; one more arrived at 50 ms, never counted.
    join_many(&app, &keys, 1, 5, Some(start_ms + 1)).await;
    let pace = Pace {
        rate_per_minute: 60_000,
        max_active: 1_000_000,
        active_for_ms: 20_000,
        uncounted_after_ms: 2_000,
    };
    let at =
        |ms: i64| pool::advance_admission(&app.state.redis, &keys, start_ms + ms, start_ms, pace);
    let counted = at(100).await.unwrap();
    assert_eq!(counted.admitted, 5, "everyone counted");
    assert_eq!(
        counted.late_admitted_until_ms,
        start_ms + 5,
        "not the uncounted one yet"
    );
    let later = at(2_100).await.unwrap();
    assert_eq!(
        later.late_admitted_until_ms,
        start_ms + 100,
        "whoever arrived 2 s before now"
    );
    assert_eq!(
        later.admitted, 5,
        "the uncounted are not counted as admitted"
    );

    // Sold out: the queue's end stands still.
    let mut conn = app.state.redis.connection().await.unwrap();
    let warm = format!("{}fs:{{79}}:warm", app.state.redis.prefix());
    let _: () = redis::cmd("SET")
        .arg(&warm)
        .arg("1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let sold_out = at(5_000).await.unwrap();
    assert!(sold_out.sold_out);
    assert_eq!(sold_out.late_admitted_until_ms, start_ms + 100);
    // A report of an earlier arrival comes late: admission does not move back.
    join_many(&app, &keys, 100, 1, Some(start_ms + 3)).await;
    let after_report = at(5_100).await.unwrap();
    assert_eq!(after_report.late_admitted_until_ms, start_ms + 100);
    assert_eq!(after_report.last_arrival_ms, start_ms + 5);
}

/// The edge reports the tickets it gave; the core counts each buyer once, keeps their first
/// place (a join at the core afterwards answers the reported ticket), and refuses tickets it
/// did not sign for this sale.
#[sqlx::test(migrations = "../migrations")]
async fn the_edge_s_reported_tickets_are_counted_once_and_forged_ones_refused(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = live_sale_of_five(&shop).await;
    let sale = FlashSaleId::new(id.parse().unwrap());
    let arrived = Utc::now().timestamp_millis() - 500;
    let ticket_of = |user: i64, key: &AdmissionKey, sale: FlashSaleId| {
        key.sign_ticket(&QueueTicket {
            sale,
            user: UserId::new(user),
            ticket_id: key.ticket_id(sale, UserId::new(user)),
            place: Place::AfterStart {
                arrived_ms: arrived + user % 100,
            },
            joined_at: arrived / 1000,
        })
        .unwrap()
    };
    let path = format!("/api/flash-sales/{id}/queue/joins");
    let report = |tickets: Vec<String>| app.post(&path).json(&json!({ "tickets": tickets })).send();
    let tickets: Vec<String> = [shop.buyer.user_id, 9_001, 9_002]
        .iter()
        .map(|u| ticket_of(*u, &key(), sale))
        .collect();
    let first = report(tickets.clone()).await;
    first.expect(StatusCode::OK);
    assert_eq!(first.json["new"], 3);
    let again = report(tickets.clone()).await;
    again.expect(StatusCode::OK);
    assert_eq!(
        again.json["new"], 0,
        "a report sent twice counts nobody twice"
    );
    let cursor = app
        .get(&format!("/api/flash-sales/{id}/admission"))
        .send()
        .await;
    assert_eq!(cursor.json["joined"].as_u64(), Some(3));
    assert_eq!(
        cursor.json["lastArrivalMs"].as_i64(),
        Some(arrived + 9_002 % 100)
    );

    // The buyer joins at the core afterwards: their reported place stands.
    let joined = app
        .post(&format!("/api/flash-sales/{id}/queue"))
        .bearer(&shop.buyer.token)
        .send()
        .await;
    joined.expect(StatusCode::OK);
    assert_eq!(joined.json["ticket"].as_str(), Some(tickets[0].as_str()));

    let other_key =
        AdmissionKey::from_secret("another-admission-secret-entirely-different").unwrap();
    report(vec![ticket_of(9_003, &other_key, sale)])
        .await
        .expect_error(StatusCode::FORBIDDEN, "ticket_invalid");
    report(vec![ticket_of(
        9_004,
        &key(),
        FlashSaleId::new(sale.get() + 1),
    )])
    .await
    .expect_error(StatusCode::FORBIDDEN, "ticket_invalid");
    report(vec!["not-a-ticket".into()])
        .await
        .expect_error(StatusCode::FORBIDDEN, "ticket_invalid");
    report(vec![tickets[1].clone(); 1_001])
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let cursor = app
        .get(&format!("/api/flash-sales/{id}/admission"))
        .send()
        .await;
    assert_eq!(
        cursor.json["joined"].as_u64(),
        Some(3),
        "nothing refused was counted"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn admission_waits_for_admitted_buyers_to_check_out_or_walk_away(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let keys = SaleKeys::new(&app.state.redis, FlashSaleId::new(78));
    let start_ms = Utc::now().timestamp_millis();
    join_many(&app, &keys, 1, 500, None).await;
    // A rate far above the window: the window alone paces admission.
    let pace = Pace {
        rate_per_minute: 60_000,
        max_active: 50,
        active_for_ms: 20_000,
        uncounted_after_ms: 10_000,
    };
    let at =
        |ms: i64| pool::advance_admission(&app.state.redis, &keys, start_ms + ms, start_ms, pace);
    assert_eq!(at(0).await.unwrap().admitted, 0);
    let first = at(1_000).await.unwrap();
    assert_eq!(first.admitted, 50, "a window's worth");
    assert_eq!(first.pace_per_minute, 60_000, "too soon to tell: the rate");
    assert_eq!(
        at(5_000).await.unwrap().admitted,
        50,
        "nobody checked out: nobody more is admitted"
    );
    // 30 of them took a purchase token (their admissions are used): 30 more come in.
    let mut conn = app.state.redis.connection().await.unwrap();
    let used = format!("{}fs:{{78}}:used", app.state.redis.prefix());
    let admissions: Vec<String> = (0..30).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let _: () = redis::cmd("SADD")
        .arg(&used)
        .arg(&admissions)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(at(6_000).await.unwrap().admitted, 80);
    assert_eq!(at(20_000).await.unwrap().admitted, 80);
    // 20 s after the first 50 were admitted, the 20 who never came count as gone.
    assert_eq!(at(21_000).await.unwrap().admitted, 100);
    // And so do the 30 admitted at 6 s, once 20 s have passed for them too.
    assert_eq!(at(26_000).await.unwrap().admitted, 130);

    // 20 s on, everyone admitted by 26 s counts as gone: a window's worth more, 130 → 180 in
    // the last 20 s, the pace the waits are told at (150 a minute), not the rate.
    let later = at(46_000).await.unwrap();
    assert_eq!(later.admitted, 180);
    assert_eq!(later.pace_per_minute, 150);
}

/// While every unit is held, a buyer told "sold out" is told to come back at a moment between
/// the first hold's end and the last's, not all of them at the first, when one unit at most
/// comes back.
#[sqlx::test(migrations = "../migrations")]
async fn buyers_told_sold_out_come_back_spread_over_the_time_the_holds_end(db: sqlx::PgPool) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = live_sale_of_five(&shop).await;
    let keys = SaleKeys::new(&app.state.redis, FlashSaleId::new(id.parse().unwrap()));
    // Five checkouts hold the five units; their holds end 300, 310, 320, 330 and 340 s from now.
    let everyone = buyers(app, 25).await;
    let ember = shop.catalog.ember;
    let now = Utc::now().timestamp_millis();
    let ttl_ms = 300_000;
    for n in 0..5_i64 {
        let claimed = pool::claim(
            &app.state.redis,
            &keys,
            &pool::ClaimRequest {
                checkout: shared_model::ids::CheckoutId(uuid::Uuid::new_v4()),
                user: UserId::new(everyone[n as usize].user.user_id),
                quantity: 1,
                per_buyer_limit: 1,
                admission: uuid::Uuid::new_v4(),
                deadline_ms: now + ttl_ms + n * 10_000,
            },
        )
        .await
        .unwrap();
        assert!(
            matches!(claimed, pool::ClaimOutcome::Claimed(_)),
            "{claimed:?}"
        );
    }

    let mut told = Vec::new();
    for buyer in &everyone[5..] {
        let answer = initiate(
            app,
            buyer,
            ember,
            1,
            Some(&admission(&id, buyer.user.user_id, soon())),
        )
        .await;
        answer.expect_error(StatusCode::CONFLICT, "sold_out");
        let details = &answer.json["error"]["details"];
        assert_eq!(details["unitsMayReturn"], true, "{}", answer.text);
        told.push(details["retryAfterSeconds"].as_u64().unwrap());
    }
    // The first hold ends in five minutes (less the moments the test took), the last 40 s
    // later: nobody before the first, nobody after the last, and not all at one moment.
    // (Before the holds were spread, every buyer was told the first: 300.)
    assert!(told.iter().all(|s| (299..=341).contains(s)), "{told:?}");
    let distinct: std::collections::HashSet<_> = told.iter().collect();
    assert!(
        distinct.len() >= 10,
        "20 buyers, {} moments: {told:?}",
        distinct.len()
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_flash_sale_job_reloads_a_lost_pool_and_returns_claims_that_never_became_checkouts(
    db: sqlx::PgPool,
) {
    let shop = shop(db).await;
    let app = &shop.app;
    let id = live_sale_of_five(&shop).await;
    let keys = SaleKeys::new(&app.state.redis, FlashSaleId::new(id.parse().unwrap()));

    // A process claimed two tokens and died before its checkout was written.
    let claimed = pool::claim(
        &app.state.redis,
        &keys,
        &pool::ClaimRequest {
            checkout: shared_model::ids::CheckoutId(uuid::Uuid::new_v4()),
            user: UserId::new(shop.buyer.user_id),
            quantity: 2,
            per_buyer_limit: 2,
            admission: uuid::Uuid::new_v4(),
            deadline_ms: Utc::now().timestamp_millis() - 60_000,
        },
    )
    .await
    .unwrap();
    assert!(matches!(claimed, pool::ClaimOutcome::Claimed(ref t) if t.len() == 2));
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 3);
    let report = edgeshop_core::flash_sales::jobs::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.claims_returned, 1);
    assert_eq!(sale_view(app, &id).await["unitsLeft"], 5);

    // Redis lost the pool: the job loads it again from the record.
    let mut conn = app.state.redis.connection().await.unwrap();
    let lost: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}fs:*", app.state.redis.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&lost)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        pool::free_tokens(&app.state.redis, &keys).await.unwrap(),
        None
    );
    let report = edgeshop_core::flash_sales::jobs::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.prewarmed, 1);
    assert_eq!(
        pool::free_tokens(&app.state.redis, &keys).await.unwrap(),
        Some(5)
    );
}

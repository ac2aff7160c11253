//! Reservations that are never paid for come back to stock on the core's own clock: a real core
//! process with a short checkout TTL and sweep interval, no job triggered by the test.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use edgeshop_tests::{
    CoreProcess, Scratch, ServerProcess, TestDatabase, buy, paying_core_env, post_json,
    register_buyers, run_core,
};
use serde_json::json;

const SECRET: &str = "sk_test_expiry";
const TTL_SECONDS: u64 = 2;
const SWEEP_SECONDS: u64 = 1;
const UNITS: i32 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn unpaid_reservations_return_to_stock_within_the_sweep_interval() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let gateway = ServerProcess::start_gateway(SECRET, 30_000).expect("gateway starts");
    let mut env = paying_core_env(&database, &scratch.0, &gateway, SECRET);
    env.push(("CHECKOUT_TTL_SECONDS".into(), TTL_SECONDS.to_string()));
    env.push((
        "EDGESHOP_SWEEP_INTERVAL_SECONDS".into(),
        SWEEP_SECONDS.to_string(),
    ));
    let (ok, out, err) = run_core(&env, &["seed", "--products", "20"]);
    assert!(ok, "{out}{err}");
    let db = sqlx::PgPool::connect(&database.url).await.unwrap();
    // One product without variants, its stock in one row: UNITS units.
    let (product, row): (i64, i64) = sqlx::query_as(
        "SELECT p.product_id, min(i.inventory_id) FROM products p
           JOIN inventory i ON i.product_id = p.product_id AND i.variant_id IS NULL
          WHERE p.status = 'ACTIVE' GROUP BY p.product_id ORDER BY p.product_id LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .expect("a product without variants");
    sqlx::query(
        "UPDATE inventory SET quantity_reserved = 0,
                quantity_total = CASE WHEN inventory_id = $2 THEN $3 ELSE 0 END
          WHERE product_id = $1",
    )
    .bind(product)
    .bind(row)
    .bind(UNITS)
    .execute(&db)
    .await
    .unwrap();
    let stock = || async {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT sum(quantity_total)::bigint, sum(quantity_reserved)::bigint FROM inventory WHERE product_id = $1",
        )
        .bind(product)
        .fetch_one(&db)
        .await
        .unwrap()
    };

    let core = CoreProcess::start(&env).expect("core starts");
    let cores = vec![core.base_url.clone()];
    let http = reqwest::Client::new();
    let buyers = register_buyers(&http, &cores, "expiry", UNITS as usize + 1).await;
    let product_id = product.to_string();

    // Every unit reserved by a checkout nobody pays for; the next buyer is told "sold out".
    let mut checkouts = Vec::new();
    let mut latest_expiry = DateTime::<Utc>::MIN_UTC;
    for buyer in &buyers[..UNITS as usize] {
        let (status, started) = post_json(
            &http,
            format!("{}/api/checkout/initiate", cores[0]),
            Some(&buyer.token),
            json!({"items": [{"productId": product_id, "quantity": 1}], "shippingAddressId": buyer.address}),
            None,
        )
        .await;
        assert_eq!(status, 201, "{started}");
        let expires: DateTime<Utc> = started["expiresAt"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no expiresAt in {started}"));
        latest_expiry = latest_expiry.max(expires);
        checkouts.push((buyer, started["checkoutId"].as_str().unwrap().to_owned()));
    }
    let late = &buyers[UNITS as usize];
    assert_eq!(
        buy(
            &http,
            &cores[0],
            &cores[0],
            late,
            &product_id,
            "late-1".into()
        )
        .await,
        Ok(None),
        "every unit is reserved"
    );
    assert_eq!(stock().await, (i64::from(UNITS), i64::from(UNITS)));

    // The sweep runs every SWEEP_SECONDS: the units must be back within one interval of the
    // last expiry (plus a little for the sweep's own work and this poll).
    let wait = (latest_expiry - Utc::now()).to_std().unwrap_or_default()
        + Duration::from_secs(SWEEP_SECONDS)
        + Duration::from_millis(1500);
    let deadline = Instant::now() + wait;
    let mut last = stock().await;
    while last.1 != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = stock().await;
    }
    assert_eq!(
        last,
        (i64::from(UNITS), 0),
        "reserved units still held {wait:?} after the checkouts were due to expire"
    );
    let expired: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM inventory_reservations WHERE inventory_id = $1 AND status = 'EXPIRED'",
    )
    .bind(row)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(expired, i64::from(UNITS));

    // Paying an expired checkout is refused and charges nothing.
    let (buyer, checkout) = &checkouts[0];
    let (status, refused) = post_json(
        &http,
        format!("{}/api/checkout/{checkout}/pay", cores[0]),
        Some(&buyer.token),
        json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}),
        Some("too-late".into()),
    )
    .await;
    assert_eq!(status, 409, "{refused}");

    // The units are for sale again, through the Redis counters too.
    assert_eq!(
        buy(
            &http,
            &cores[0],
            &cores[0],
            late,
            &product_id,
            "late-2".into()
        )
        .await
        .map(|confirmed| confirmed.is_some()),
        Ok(true)
    );
    assert_eq!(stock().await, (i64::from(UNITS) - 1, 0));
    let captured = gateway.captured_charges(&http, SECRET).await.len();
    assert_eq!(captured, 1, "only the late buyer was charged");
    db.close().await;
    core.kill();
    database.drop().await.unwrap();
}

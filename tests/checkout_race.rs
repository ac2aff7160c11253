//! The seed's opening scenario in small: 500 buyers race for 100 units of one product through
//! four core processes sharing PostgreSQL and Redis, paying through the sandbox gateway, round
//! after round. Exactly 100 orders are confirmed each round, everyone else is told "sold out",
//! exactly 100 charges are captured, and nothing stays reserved.

use std::sync::Arc;

use edgeshop_tests::{
    Admin, CoreProcess, Scratch, ServerProcess, TestDatabase, buy, create_admin_user,
    paying_core_env, register_buyers, run_core,
};
use futures_util::future::join_all;
use serde_json::json;

const BUYERS: usize = 500;
const UNITS: i64 = 100;
const CORES: usize = 4;
const SECRET: &str = "sk_test_race";

fn rounds() -> usize {
    std::env::var("E2E_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_buyers_race_four_cores_for_a_hundred_units() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let gateway = ServerProcess::start_gateway(SECRET, 30_000).expect("gateway starts");
    let mut env = paying_core_env(&database, &scratch.0, &gateway, SECRET);
    env.push(("DATABASE_MAX_CONNECTIONS".into(), "10".into()));
    let (ok, out, err) = run_core(&env, &["seed", "--products", "20"]);
    assert!(ok, "{out}{err}");
    create_admin_user(&env, "ops@example.com", "operator-password");
    let cores: Vec<CoreProcess> = (0..CORES)
        .map(|_| CoreProcess::start(&env).expect("core starts"))
        .collect();
    let urls: Arc<Vec<String>> = Arc::new(cores.iter().map(|c| c.base_url.clone()).collect());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();

    // The product on sale, and its single stock row.
    let admin = Admin::sign_in(&http, &urls[0], "ops@example.com", "operator-password").await;
    let product_id = admin
        .create_product(json!({"name": "Flash Console", "basePrice": "499.00",
                               "sku": "FLASH-CONSOLE", "maxQuantityPerOrder": 1}))
        .await;

    let buyers = register_buyers(&http, &urls, "buyer", BUYERS).await;
    let buyers = Arc::new(buyers);
    let db = sqlx::PgPool::connect(&database.url).await.unwrap();

    let mut captured_total = rust_decimal::Decimal::ZERO;
    for round in 1..=rounds() {
        admin.set_stock(&product_id, UNITS).await;
        let outcomes = join_all((0..BUYERS).map(|i| {
            let http = http.clone();
            let urls = urls.clone();
            let buyers = buyers.clone();
            let product_id = product_id.clone();
            async move {
                // Paid through another process than the one that reserved.
                buy(
                    &http,
                    &urls[i % CORES],
                    &urls[(i + 1) % CORES],
                    &buyers[i],
                    &product_id,
                    format!("pay-{round}-{i}"),
                )
                .await
            }
        }))
        .await;
        let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert!(
            failures.is_empty(),
            "round {round}: {} unexpected answers, e.g. {:?}",
            failures.len(),
            failures.first()
        );
        let totals: Vec<rust_decimal::Decimal> = outcomes
            .iter()
            .filter_map(|o| o.clone().ok().flatten())
            .collect();
        let sold_out = outcomes.iter().filter(|o| matches!(o, Ok(None))).count();
        assert_eq!(
            totals.len() as i64,
            UNITS,
            "round {round}: confirmed orders"
        );
        assert_eq!(
            sold_out as i64,
            BUYERS as i64 - UNITS,
            "round {round}: sold-out answers"
        );
        captured_total += totals.iter().copied().sum::<rust_decimal::Decimal>();
        let (total, reserved): (i32, i32) = sqlx::query_as(
            "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1::bigint",
        )
        .bind(&product_id)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!((total, reserved), (0, 0), "round {round}: stock afterwards");
        let captured: rust_decimal::Decimal = gateway
            .captured_charges(&http, SECRET)
            .await
            .into_iter()
            .sum();
        assert_eq!(
            captured, captured_total,
            "round {round}: the gateway captured exactly the confirmed orders"
        );
    }
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(confirmed, UNITS * rounds() as i64);
    db.close().await;
    for core in cores {
        core.kill();
    }
    database.drop().await.unwrap();
}

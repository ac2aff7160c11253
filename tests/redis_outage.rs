//! Redis breaking in the middle of a sale, through the real API and two core processes: a
//! FLUSHALL, then Redis stopped, then Redis back empty. The sale goes on through all of it,
//! nobody is sold a unit that does not exist, and nothing stays reserved.

use std::sync::Arc;

use edgeshop_tests::{
    Admin, Buyer, CoreProcess, RedisServer, Scratch, ServerProcess, TestDatabase, buy,
    create_admin_user, paying_core_env, register_buyers, run_core,
};
use futures_util::future::join_all;
use serde_json::json;

const SECRET: &str = "sk_test_outage";
const UNITS: i64 = 150;

/// Sixty buyers at once; answers (confirmed, sold out).
async fn wave(
    http: &reqwest::Client,
    cores: &Arc<Vec<String>>,
    buyers: &Arc<Vec<Buyer>>,
    range: std::ops::Range<usize>,
    product: &str,
    tag: &str,
) -> (usize, usize) {
    let outcomes = join_all(range.map(|i| {
        let http = http.clone();
        let cores = cores.clone();
        let buyers = buyers.clone();
        let product = product.to_owned();
        let key = format!("{tag}-{i}");
        async move {
            buy(
                &http,
                &cores[i % 2],
                &cores[(i + 1) % 2],
                &buyers[i],
                &product,
                key,
            )
            .await
        }
    }))
    .await;
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{tag}: {} unexpected answers, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    let confirmed = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
    (confirmed, outcomes.len() - confirmed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_survives_a_flushall_and_a_stopped_redis_without_overselling() {
    let mut redis = RedisServer::start();
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let gateway = ServerProcess::start_gateway(SECRET, 30_000).expect("gateway starts");
    let mut env: Vec<(String, String)> = paying_core_env(&database, &scratch.0, &gateway, SECRET)
        .into_iter()
        .filter(|(k, _)| k != "REDIS_URL")
        .collect();
    env.push(("REDIS_URL".into(), redis.url()));
    let (ok, out, err) = run_core(&env, &["seed", "--products", "20"]);
    assert!(ok, "{out}{err}");
    create_admin_user(&env, "ops@example.com", "operator-password");
    let processes: Vec<CoreProcess> = (0..2)
        .map(|_| CoreProcess::start(&env).expect("core starts"))
        .collect();
    let cores: Arc<Vec<String>> = Arc::new(processes.iter().map(|c| c.base_url.clone()).collect());
    let http = reqwest::Client::new();

    let admin = Admin::sign_in(&http, &cores[0], "ops@example.com", "operator-password").await;
    let product_id = admin
        .create_product(
            json!({"name": "Outage Console", "basePrice": "299.00", "sku": "OUTAGE-CONSOLE"}),
        )
        .await;
    admin.set_stock(&product_id, UNITS).await;
    let buyers = Arc::new(register_buyers(&http, &cores, "outage", 210).await);

    assert_eq!(
        wave(&http, &cores, &buyers, 0..60, &product_id, "before").await,
        (60, 0)
    );
    redis.flushall();
    assert_eq!(
        wave(
            &http,
            &cores,
            &buyers,
            60..120,
            &product_id,
            "after-flushall"
        )
        .await,
        (60, 0)
    );
    redis.stop();
    // 30 units left: the sale goes on with PostgreSQL alone and stops exactly at zero.
    assert_eq!(
        wave(&http, &cores, &buyers, 120..180, &product_id, "redis-down").await,
        (30, 30)
    );
    redis.restart();
    assert_eq!(
        wave(&http, &cores, &buyers, 180..210, &product_id, "redis-back").await,
        (0, 30)
    );

    let db = sqlx::PgPool::connect(&database.url).await.unwrap();
    let (total, reserved): (i32, i32) = sqlx::query_as(
        "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1::bigint",
    )
    .bind(&product_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (total, reserved),
        (0, 0),
        "sold exactly the stock, nothing left reserved"
    );
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(confirmed, UNITS);
    let captures = gateway.captured_charges(&http, SECRET).await.len();
    assert_eq!(captures as i64, UNITS, "one capture per confirmed order");
    db.close().await;
    for core in processes {
        core.kill();
    }
    database.drop().await.unwrap();
}

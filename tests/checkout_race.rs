//! The seed's opening scenario in small: 500 buyers race for 100 units of one product through
//! four core processes sharing PostgreSQL and Redis, paying through the sandbox gateway, round
//! after round. Exactly 100 orders are confirmed each round, everyone else is told "sold out",
//! exactly 100 charges are captured, and nothing stays reserved.

use std::sync::Arc;

use edgeshop_tests::{
    CoreProcess, Scratch, ServerProcess, TestDatabase, core_env, post_json, register_buyers,
    run_core,
};
use futures_util::future::join_all;
use serde_json::{Value, json};

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
    let mut env = core_env(&database, &scratch.0);
    env.push(("PAYMENT_GATEWAY_URL".into(), gateway.base_url.clone()));
    env.push(("PAYMENT_GATEWAY_SECRET_KEY".into(), SECRET.into()));
    env.push(("DATABASE_MAX_CONNECTIONS".into(), "10".into()));
    let (ok, out, err) = run_core(&env, &["seed", "--products", "20"]);
    assert!(ok, "{out}{err}");
    assert!(
        run_core(
            &env,
            &[
                "user",
                "create",
                "--email",
                "ops@example.com",
                "--password",
                "operator-password",
                "--role",
                "admin"
            ]
        )
        .0
    );
    let cores: Vec<CoreProcess> = (0..CORES)
        .map(|_| CoreProcess::start(&env).expect("core starts"))
        .collect();
    let urls: Arc<Vec<String>> = Arc::new(cores.iter().map(|c| c.base_url.clone()).collect());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();

    // The product on sale, and its single stock row.
    let (_, login) = post_json(
        &http,
        format!("{}/api/auth/login", urls[0]),
        None,
        json!({"email": "ops@example.com", "password": "operator-password"}),
        None,
    )
    .await;
    let admin = login["accessToken"]
        .as_str()
        .expect("admin token")
        .to_owned();
    let category = http
        .get(format!("{}/api/categories", urls[0]))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()[0]["categoryId"]
        .clone();
    let (status, product) = post_json(
        &http,
        format!("{}/api/admin/products", urls[0]),
        Some(&admin),
        json!({"name": "Flash Console", "brand": "Edgeshop", "categoryId": category, "basePrice": "499.00",
               "currency": "USD", "sku": "FLASH-CONSOLE", "maxQuantityPerOrder": 1}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["productId"].as_str().unwrap().to_owned();

    let buyers = register_buyers(&http, &urls, "buyer", BUYERS).await;
    let buyers = Arc::new(buyers);
    let warehouse = http
        .get(format!("{}/api/admin/warehouses", urls[0]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()[0]["warehouseId"]
        .clone();
    let db = sqlx::PgPool::connect(&database.url).await.unwrap();

    let mut captured_total = rust_decimal::Decimal::ZERO;
    for round in 1..=rounds() {
        let put = http
            .put(format!("{}/api/admin/inventory", urls[0]))
            .bearer_auth(&admin)
            .json(
                &json!({"productId": product_id, "warehouseId": warehouse, "quantityTotal": UNITS}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200, "restock for round {round}");
        let outcomes = join_all((0..BUYERS).map(|i| {
            let http = http.clone();
            let urls = urls.clone();
            let buyers = buyers.clone();
            let product_id = product_id.clone();
            async move {
                let buyer = &buyers[i];
                let (status, started) = post_json(
                    &http,
                    format!("{}/api/checkout/initiate", urls[i % CORES]),
                    Some(&buyer.token),
                    json!({"items": [{"productId": product_id, "quantity": 1}], "shippingAddressId": buyer.address}),
                    None,
                )
                .await;
                match status {
                    409 if started["error"]["code"] == "out_of_stock" => Ok(None),
                    201 => {
                        let checkout = started["checkoutId"].as_str().unwrap();
                        // Paid through another process than the one that reserved.
                        let (status, paid) = post_json(
                            &http,
                            format!("{}/api/checkout/{checkout}/pay", urls[(i + 1) % CORES]),
                            Some(&buyer.token),
                            json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}),
                            Some(format!("pay-{round}-{i}")),
                        )
                        .await;
                        if status == 200 && paid["status"] == "CONFIRMED" {
                            Ok(Some(paid["total"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap()))
                        } else {
                            Err(format!("pay answered {status}: {paid}"))
                        }
                    }
                    _ => Err(format!("initiate answered {status}: {started}")),
                }
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
        let charges: Value = http
            .get(gateway.url("/v1/charges"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let captured: rust_decimal::Decimal = charges["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .map(|c| {
                c["amount"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
            })
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

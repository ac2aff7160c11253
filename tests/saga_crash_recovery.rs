//! Kill the core (abort, as SIGKILL would) right after each saga step commits, then run the
//! recovery command: every saga ends COMPLETED or COMPENSATED, no reservation stays pending,
//! and no capture is left without a confirmed order.

use std::time::Duration;

use edgeshop_tests::{
    CoreProcess, Scratch, ServerProcess, TestDatabase, paying_core_env, run_core,
};
use serde_json::{Value, json};

const SECRET: &str = "sk_test_crash";
const STEPS: [&str; 4] = [
    "RESERVE_INVENTORY",
    "PROCESS_PAYMENT",
    "CREATE_ORDER",
    "CONFIRM_INVENTORY",
];

async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Result<(u16, Value), reqwest::Error> {
    let mut request = http
        .post(url)
        .json(&body)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_saga_step_is_finished_or_undone_by_recovery() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let gateway = ServerProcess::start_gateway(SECRET, 30_000).expect("gateway starts");
    let mut env = paying_core_env(&database, &scratch.0, &gateway, SECRET);
    // Short checkouts, so an unpaid one that crashed expires before recovery runs.
    env.push(("CHECKOUT_TTL_SECONDS".into(), "2".into()));
    let (ok, out, err) = run_core(&env, &["seed", "--products", "30"]);
    assert!(ok, "{out}{err}");
    let db = sqlx::PgPool::connect(&database.url).await.unwrap();
    let product: i64 = sqlx::query_scalar(
        "SELECT p.product_id FROM products p JOIN inventory i ON i.product_id = p.product_id AND i.variant_id IS NULL
          WHERE p.status = 'ACTIVE' AND i.quantity_available >= 5 ORDER BY p.product_id LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .expect("a product without variants in stock");
    let http = reqwest::Client::new();

    for (n, step) in STEPS.iter().enumerate() {
        let mut crashing = env.clone();
        crashing.push(("EDGESHOP_FAULT_CRASH_AFTER".into(), (*step).into()));
        let core = CoreProcess::start(&crashing).expect("core starts");
        let (_, registered) = post(
            &http,
            core.url("/api/auth/register"),
            None,
            json!({"email": format!("crash{n}@example.com"), "password": "buyer-password", "firstName": "Crash"}),
        )
        .await
        .unwrap();
        let token = registered["accessToken"].as_str().unwrap().to_owned();
        let (_, address) = post(
            &http,
            core.url("/api/users/me/addresses"),
            Some(&token),
            json!({"streetAddress": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "73301", "country": "US"}),
        )
        .await
        .unwrap();
        let initiated = post(
            &http,
            core.url("/api/checkout/initiate"),
            Some(&token),
            json!({"items": [{"productId": product.to_string(), "quantity": 1}], "shippingAddressId": address["addressId"]}),
        )
        .await;
        if *step != "RESERVE_INVENTORY" {
            let (status, started) = initiated.expect("initiate answers");
            assert_eq!(status, 201, "{started}");
            let checkout = started["checkoutId"].as_str().unwrap();
            let paid = post(
                &http,
                core.url(&format!("/api/checkout/{checkout}/pay")),
                Some(&token),
                json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}),
            )
            .await;
            assert!(
                paid.is_err(),
                "the process should have died after {step}, but answered {paid:?}"
            );
        } else {
            assert!(
                initiated.is_err(),
                "the process should have died after {step}"
            );
        }
        let status = core
            .wait_for_exit(Duration::from_secs(10))
            .expect("the crash hook stopped the process");
        assert!(!status.success(), "{step}: the process crashed");

        // Past the checkout's lifetime, then recovery as an operator (or the restarted core) runs it.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (ok, out, err) = run_core(&env, &["recover", "--stuck-after-seconds", "0"]);
        assert!(ok, "recover after {step}: {out}{err}");

        let unsettled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM saga_state WHERE status NOT IN ('COMPLETED', 'COMPENSATED')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(
            unsettled, 0,
            "after a crash after {step}, a saga is neither completed nor compensated"
        );
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inventory_reservations WHERE status = 'PENDING'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(
            pending, 0,
            "after a crash after {step}, a reservation is stuck"
        );
        let orphan_captures: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payments p JOIN orders o ON o.order_id = p.order_id
              WHERE p.status = 'CAPTURED' AND o.status <> 'CONFIRMED'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(
            orphan_captures, 0,
            "after a crash after {step}, money was captured without a confirmed order"
        );
        let reserved: i64 =
            sqlx::query_scalar("SELECT COALESCE(sum(quantity_reserved), 0)::bigint FROM inventory")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(reserved, 0, "after {step}");
    }
    // A crash after payment finished the order; one before payment released it.
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        confirmed, 3,
        "the three crashes after PROCESS_PAYMENT ended as confirmed orders"
    );
    assert_eq!(gateway.captured_charges(&http, SECRET).await.len(), 3);
    db.close().await;
    database.drop().await.unwrap();
}

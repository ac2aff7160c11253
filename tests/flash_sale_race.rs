//! A flash sale across four core processes sharing PostgreSQL and Redis: 300 admitted buyers
//! race for 60 units at once; some winners walk away and some are declined, and their units go
//! back to the pool when the hold lapses (the processes' own sweep and event relay do it) and
//! are sold to the buyers who lost the first race. Exactly 60 orders are confirmed and 60
//! charges captured, whatever the interleaving, and a buyer at the limit stays there on any
//! process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use edgeshop_tests::{
    Admin, Buyer, CoreProcess, Scratch, ServerProcess, TestDatabase, create_admin_user,
    paying_core_env, post_json, register_buyers, run_core,
};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared_model::flash_sale::{AdmissionKey, AdmissionToken};
use shared_model::ids::{FlashSaleId, UserId};

const BUYERS: usize = 300;
const UNITS: usize = 60;
const STOCK: i64 = 1_000;
const CORES: usize = 4;
const SECRET: &str = "sk_test_flash";
const ADMISSION_SECRET: &str = "flash-sale-race-admission-secret-0123456789";

/// What the waiting room at the edge hands an admitted buyer.
fn admission(sale: i64, user: i64) -> String {
    AdmissionKey::from_secret(ADMISSION_SECRET)
        .unwrap()
        .sign_admission(&AdmissionToken {
            sale: FlashSaleId::new(sale),
            user: UserId::new(user),
            ticket_id: uuid::Uuid::new_v4(),
            expires_at: chrono::Utc::now().timestamp() + 300,
        })
        .unwrap()
}

/// Every buyer in `who` starts a checkout at once; answers the winners' checkout ids. Anything
/// but a checkout or "sold out" fails the test.
async fn race(
    http: &reqwest::Client,
    urls: &Arc<Vec<String>>,
    buyers: &Arc<Vec<(Buyer, i64)>>,
    who: &[usize],
    sale: i64,
    product: &str,
) -> Vec<(usize, String)> {
    let answers = join_all(who.iter().map(|&i| {
        let (http, urls, buyers) = (http.clone(), urls.clone(), buyers.clone());
        let product = product.to_owned();
        async move {
            let (buyer, user) = &buyers[i];
            let answer = post_json(
                &http,
                format!("{}/api/checkout/initiate", urls[i % CORES]),
                Some(&buyer.token),
                json!({"items": [{"productId": product, "quantity": 1}],
                       "shippingAddressId": buyer.address,
                       "admissionToken": admission(sale, *user)}),
                None,
            )
            .await;
            (i, answer)
        }
    }))
    .await;
    let mut won = Vec::new();
    for (i, (status, body)) in answers {
        match status {
            201 => won.push((i, body["checkoutId"].as_str().unwrap().to_owned())),
            409 if body["error"]["code"] == "sold_out" => {}
            _ => panic!("buyer {i}: initiate answered {status}: {body}"),
        }
    }
    won
}

async fn pay(
    http: &reqwest::Client,
    url: &str,
    buyer: &Buyer,
    checkout: &str,
    card: &str,
) -> (u16, Value) {
    post_json(
        http,
        format!("{url}/api/checkout/{checkout}/pay"),
        Some(&buyer.token),
        json!({"paymentMethod": "CARD", "paymentToken": card}),
        Some(uuid::Uuid::new_v4().to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_the_units_sell_across_four_cores_with_walkaways_resold() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let gateway = ServerProcess::start_gateway(SECRET, 30_000).expect("gateway starts");
    let mut env = paying_core_env(&database, &scratch.0, &gateway, SECRET);
    env.extend([
        ("DATABASE_MAX_CONNECTIONS".into(), "10".into()),
        ("EDGESHOP_ADMISSION_KEY".into(), ADMISSION_SECRET.into()),
        // Lapsed holds are released within a second, their tokens returned by the relay.
        ("EDGESHOP_SWEEP_INTERVAL_SECONDS".into(), "1".into()),
    ]);
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

    let admin = Admin::sign_in(&http, &urls[0], "ops@example.com", "operator-password").await;
    let product = admin
        .create_product(json!({"name": "Flash Console", "basePrice": "499.00",
                               "sku": "FLASH-CONSOLE", "maxQuantityPerOrder": 1}))
        .await;
    admin.set_stock(&product, STOCK).await;
    let (status, sale) = post_json(
        &http,
        format!("{}/api/admin/flash-sales", urls[1]),
        Some(&admin.token),
        json!({"productId": product, "units": UNITS, "salePrice": "249.00",
               "startsAt": (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339(),
               "purchaseTokenTtlSeconds": 3}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{sale}");
    let sale: i64 = sale["flashSaleId"].as_str().unwrap().parse().unwrap();

    let registered = register_buyers(&http, &urls, "flash", BUYERS).await;
    let mut buyers = Vec::with_capacity(BUYERS);
    for buyer in registered {
        let me: Value = http
            .get(format!("{}/api/users/me", urls[0]))
            .bearer_auth(&buyer.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user = me["userId"].as_str().unwrap().parse().unwrap();
        buyers.push((buyer, user));
    }
    let buyers = Arc::new(buyers);

    // Everyone at once: one winner per unit.
    let won = race(
        &http,
        &urls,
        &buyers,
        &(0..BUYERS).collect::<Vec<_>>(),
        sale,
        &product,
    )
    .await;
    assert_eq!(won.len(), UNITS, "exactly one checkout per unit");
    // Most pay (through another process than the one that reserved), ten are declined, ten
    // walk away.
    let payments = join_all(won.iter().enumerate().map(|(n, (i, checkout))| {
        let (http, urls, buyers) = (http.clone(), urls.clone(), buyers.clone());
        let checkout = checkout.clone();
        let i = *i;
        async move {
            let card = match n {
                0..10 => return None,
                10..20 => "tok_chargeDeclined",
                _ => "tok_visa",
            };
            Some(pay(&http, &urls[(i + 1) % CORES], &buyers[i].0, &checkout, card).await)
        }
    }))
    .await;
    let paid = payments.iter().flatten().filter(|(s, _)| *s == 200).count();
    let declined = payments.iter().flatten().filter(|(s, _)| *s == 402).count();
    assert_eq!((paid, declined), (UNITS - 20, 10));

    // A paid buyer cannot buy a second unit, whichever process they ask.
    let (repeat, _) = won[UNITS - 1];
    let (status, again) = post_json(
        &http,
        format!("{}/api/checkout/initiate", urls[(repeat + 2) % CORES]),
        Some(&buyers[repeat].0.token),
        json!({"items": [{"productId": product, "quantity": 1}],
               "shippingAddressId": buyers[repeat].0.address,
               "admissionToken": admission(sale, buyers[repeat].1)}),
        None,
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("buyer_limit_reached")),
        "{again}"
    );

    // The twenty lapsed holds come back to the pool on their own.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let view: Value = http
            .get(format!("{}/api/flash-sales/{sale}", urls[3]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if view["unitsLeft"] == 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lapsed units never came back: {view}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The buyers who lost the first race buy them.
    let winners: Vec<usize> = won.iter().map(|(i, _)| *i).collect();
    let rest: Vec<usize> = (0..BUYERS).filter(|i| !winners.contains(i)).collect();
    let second = race(&http, &urls, &buyers, &rest, sale, &product).await;
    assert_eq!(second.len(), 20, "the returned units, one each");
    for (i, checkout) in &second {
        let (status, body) = pay(
            &http,
            &urls[*i % CORES],
            &buyers[*i].0,
            checkout,
            "tok_visa",
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    let db = sqlx::PgPool::connect(&database.url).await.unwrap();
    let confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.order_id
          WHERE i.product_id = $1::bigint AND o.status = 'CONFIRMED'",
    )
    .bind(&product)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(confirmed, UNITS as i64, "exactly the units were sold");
    let (total, reserved): (i32, i32) = sqlx::query_as(
        "SELECT quantity_total, quantity_reserved FROM inventory WHERE product_id = $1::bigint",
    )
    .bind(&product)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((i64::from(total), reserved), (STOCK - UNITS as i64, 0));
    let captured = gateway.captured_charges(&http, SECRET).await;
    assert_eq!(captured.len(), UNITS, "one capture per unit sold");
    // Tokens are settled from the inventory events, which the relay delivers just after the
    // payments' commits.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sold: i64 =
            sqlx::query_scalar("SELECT count(*) FROM flash_sale_tokens WHERE status = 'SOLD'")
                .fetch_one(&db)
                .await
                .unwrap();
        if sold == UNITS as i64 {
            break;
        }
        assert!(sold < UNITS as i64, "{sold} tokens sold");
        assert!(
            Instant::now() < deadline,
            "only {sold} tokens settled as sold"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await;
    for core in cores {
        core.kill();
    }
    database.drop().await.unwrap();
}

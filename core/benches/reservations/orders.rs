//! (d) Whole orders through the HTTP API: `initiate` then `pay` with `tok_visa`, against the
//! real application on a socket (background jobs running) and the sandbox gateway, both in
//! this process.

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Instant;

use anyhow::{Context, Result};
use edgeshop_core::auth::TokenKeys;
use edgeshop_core::startup;
use edgeshop_tests::{Buyer, post_json, register_buyers};
use hdrhistogram::Histogram;
use serde_json::json;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::fixture::HotSku;
use crate::load::Outcome;

const GATEWAY_SECRET: &str = "sk_test_bench";

/// The core and the gateway, serving until dropped.
pub struct Shop {
    pub base: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shop {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the gateway, then the core configured to pay through it.
pub async fn open_shop(
    db: &PgPool,
    database_url: &str,
    redis_url: &str,
    prefix: &str,
) -> Result<Shop> {
    let (gateway, gateway_task) = edgeshop_gateway::spawn(edgeshop_gateway::GatewayConfig {
        secret_key: GATEWAY_SECRET.into(),
        timeout_token_delay: std::time::Duration::from_secs(5),
    })
    .await
    .context("starting the sandbox gateway")?;
    let gateway_url = format!("http://{gateway}");
    let config = crate::support::app_config(&[
        ("DATABASE_URL", database_url),
        ("REDIS_URL", redis_url),
        ("REDIS_KEY_PREFIX", prefix),
        ("PAYMENT_GATEWAY_URL", gateway_url.as_str()),
        ("PAYMENT_GATEWAY_SECRET_KEY", GATEWAY_SECRET),
    ])?;
    let state = startup::state_with(config, db.clone(), Some(TokenKeys::generate()))
        .context("building the application state")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let address: SocketAddr = listener.local_addr()?;
    startup::spawn_background_jobs(&state);
    let app = startup::app(state);
    let core_task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("reservations: the core stopped serving: {err}");
        }
    });
    Ok(Shop {
        base: format!("http://{address}"),
        tasks: vec![gateway_task, core_task],
    })
}

/// Registers buyers, each with a shipping address (setup, not measured).
pub async fn buyers(http: &reqwest::Client, shop: &Shop, count: usize) -> Arc<Vec<Buyer>> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    Arc::new(
        register_buyers(
            http,
            std::slice::from_ref(&shop.base),
            &format!("bench-{run}-"),
            count,
        )
        .await,
    )
}

/// How long each of an order's two requests took, from when it was sent.
pub struct StepTimes {
    pub initiate: Histogram<u64>,
    pub pay: Histogram<u64>,
}

impl StepTimes {
    pub fn new() -> std::sync::Mutex<Self> {
        // 1 µs to 60 s at 3 significant figures: constant bounds, so this cannot fail.
        let histogram = || Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
        std::sync::Mutex::new(StepTimes {
            initiate: histogram(),
            pay: histogram(),
        })
    }
}

fn record(
    times: &std::sync::Mutex<StepTimes>,
    step: fn(&mut StepTimes) -> &mut Histogram<u64>,
    since: Instant,
) {
    let micros = since.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
    if let Ok(mut times) = times.lock() {
        step(&mut times).saturating_record(micros.max(1));
    }
}

/// One order: initiate, then pay. `Short` is the shop's clear "out of stock" answer.
pub async fn order(
    http: reqwest::Client,
    base: Arc<str>,
    buyer: &Buyer,
    sku: HotSku,
    n: u64,
    times: &std::sync::Mutex<StepTimes>,
) -> Result<Outcome, String> {
    let mut item = json!({"productId": sku.product.to_string(), "quantity": 1});
    if let Some(variant) = sku.variant {
        item["variantId"] = json!(variant.to_string());
    }
    let sent = Instant::now();
    let (status, started) = post_json(
        &http,
        format!("{base}/api/checkout/initiate"),
        Some(&buyer.token),
        json!({"items": [item], "shippingAddressId": buyer.address, "billingAddressId": buyer.address}),
        Some(format!("bench-initiate-{n}")),
    )
    .await;
    record(times, |t| &mut t.initiate, sent);
    match status {
        409 if started["error"]["code"] == "out_of_stock" => return Ok(Outcome::Short),
        201 => {}
        _ => return Err(format!("initiate answered {status}: {started}")),
    }
    let checkout = started["checkoutId"].as_str().unwrap_or_default();
    let sent = Instant::now();
    let (status, paid) = post_json(
        &http,
        format!("{base}/api/checkout/{checkout}/pay"),
        Some(&buyer.token),
        json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}),
        Some(format!("bench-pay-{n}")),
    )
    .await;
    record(times, |t| &mut t.pay, sent);
    if status == 200 && paid["status"] == "CONFIRMED" {
        Ok(Outcome::Took)
    } else {
        Err(format!("pay answered {status}: {paid}"))
    }
}

/// The shop's group-commit figures (`/metrics`): per batch writer, how long requests waited for
/// their batch and how long batches took, median and 99th percentile, in ms.
pub async fn group_commit_figures(http: &reqwest::Client, shop: &Shop) -> Result<Vec<String>> {
    let text = http
        .get(format!("{}/metrics", shop.base))
        .send()
        .await
        .context("GET /metrics")?
        .text()
        .await
        .context("reading /metrics")?;
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("group_commit_") else {
            continue;
        };
        let wanted = ["quantile=\"0.5\"", "quantile=\"0.99\""];
        if !(rest.starts_with("wait_seconds{") || rest.starts_with("write_seconds{"))
            || !wanted.iter().any(|q| rest.contains(q))
        {
            continue;
        }
        let Some((name, value)) = rest.rsplit_once(' ') else {
            continue;
        };
        let millis = value.parse::<f64>().map(|s| s * 1000.0).unwrap_or(f64::NAN);
        lines.push(format!("{name} {millis:.1} ms"));
    }
    lines.sort();
    Ok(lines)
}

/// What the database says the orders phase did: (confirmed orders, captured payments).
pub async fn settled(db: &PgPool) -> Result<(i64, i64)> {
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'CONFIRMED'")
            .fetch_one(db)
            .await
            .context("counting confirmed orders")?;
    let captured: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'CAPTURED'")
            .fetch_one(db)
            .await
            .context("counting captured payments")?;
    Ok((confirmed, captured))
}

//! The admin's side of the run, through the core's API: a product with exactly the sale's
//! units in stock, and the sale itself. Also what the run reads back from the core: the sale's
//! final state and how often the edge asked for the admission cursor.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::FlashSaleArgs;

/// The sale under test.
#[derive(Debug, Clone)]
pub struct Sale {
    pub id: String,
    pub product: String,
    pub starts_at: DateTime<Utc>,
}

async fn call(request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let answer = request.send().await.with_context(|| what.to_owned())?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{what}: {status} {body}");
    }
    Ok(body)
}

pub async fn schedule(http: &reqwest::Client, args: &FlashSaleArgs) -> anyhow::Result<Sale> {
    let core = args.core.trim_end_matches('/');
    let login = call(
        http.post(format!("{core}/api/auth/login"))
            .json(&json!({"email": args.admin_email, "password": args.admin_password})),
        "signing the admin in",
    )
    .await?;
    let token = login["accessToken"]
        .as_str()
        .context("the admin's token")?
        .to_owned();
    let categories = call(http.get(format!("{core}/api/categories")), "categories").await?;
    let category = categories[0]["categoryId"].clone();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let product = call(
        http.post(format!("{core}/api/admin/products"))
            .bearer_auth(&token)
            .json(&json!({
                "name": format!("Flash Console {}", &run[..8]),
                "brand": "Edgeshop",
                "categoryId": category,
                "currency": "USD",
                "basePrice": "499.00",
                "sku": format!("FLASH-{}", &run[..12]),
                "maxQuantityPerOrder": 1,
            })),
        "creating the product",
    )
    .await?;
    let product = product["productId"]
        .as_str()
        .context("the product's id")?
        .to_owned();
    let warehouses = call(
        http.get(format!("{core}/api/admin/warehouses"))
            .bearer_auth(&token),
        "warehouses",
    )
    .await?;
    call(
        http.put(format!("{core}/api/admin/inventory"))
            .bearer_auth(&token)
            .json(
                &json!({"productId": product, "warehouseId": warehouses[0]["warehouseId"],
                          "quantityTotal": args.units}),
            ),
        "stocking the product",
    )
    .await?;
    let starts_at = Utc::now() + chrono::Duration::seconds(args.start_in as i64);
    let sale = call(
        http.post(format!("{core}/api/admin/flash-sales"))
            .bearer_auth(&token)
            .json(&json!({
                "productId": product,
                "units": args.units,
                "salePrice": "249.00",
                "startsAt": starts_at.to_rfc3339(),
                "admissionRatePerMinute": args.admission_rate,
                "maxActiveBuyers": args.max_active_buyers,
                "purchaseTokenTtlSeconds": args.token_ttl,
            })),
        "scheduling the sale",
    )
    .await?;
    Ok(Sale {
        id: sale["flashSaleId"]
            .as_str()
            .context("the sale's id")?
            .to_owned(),
        product,
        starts_at,
    })
}

pub async fn sale_view(http: &reqwest::Client, core: &str, sale: &str) -> anyhow::Result<Value> {
    call(
        http.get(format!(
            "{}/api/flash-sales/{sale}",
            core.trim_end_matches('/')
        )),
        "the sale's state",
    )
    .await
}

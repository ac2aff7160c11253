//! Sellers list and edit their own products, admins any; stock is set per warehouse. Bad
//! input is refused with a clear error and changes nothing.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared_model::auth::Role;
use support::TestApp;
use support::fixtures::{small_catalog, stock};

fn phone(sku: &str, category: i64) -> Value {
    json!({
        "name": "Zephyr Phone", "brand": "Zephyr", "description": "A phone.",
        "categoryId": category.to_string(), "basePrice": "599.00", "salePrice": "549.00",
        "currency": "USD", "sku": sku, "attributes": {"screen": "6.1 in"},
        "variants": [
            {"sku": format!("{sku}-BLU"), "name": "Blue", "priceModifier": "0", "attributes": {"color": "Blue"}},
            {"sku": format!("{sku}-RED"), "name": "Red", "priceModifier": "20.00", "attributes": {"color": "Red"}}
        ],
        "images": [{"url": "/images/products/new/1.svg?v=1", "altText": "Front"}, {"url": "https://img.example/2.jpg"}]
    })
}

async fn count(db: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_seller_lists_a_product_and_shoppers_see_it(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let seller = app.user(Role::Seller).await;
    let created = app
        .post("/api/seller/products")
        .bearer(&seller.token)
        .json(&phone("zep-1", c.phones))
        .send()
        .await;
    created.expect(StatusCode::CREATED);
    let p = &created.json;
    let id = p["productId"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("/api/products/{id}"));
    assert_eq!(p["sellerId"], seller.seller_id.unwrap().to_string());
    assert_eq!(p["sku"], "ZEP-1");
    assert_eq!(p["status"], "ACTIVE");
    assert_eq!(p["variants"][1]["price"], "569.00");
    assert_eq!(p["images"][0]["isPrimary"], true);
    assert_eq!(p["images"][1]["isPrimary"], false);
    assert_eq!(p["inStock"], false, "no stock yet");
    // Searchable and listed at once, and its change event is in the outbox.
    let list = app
        .get(&format!(
            "/api/products?category={}&brand=Zephyr",
            c.electronics
        ))
        .send()
        .await;
    assert_eq!(list.json["pagination"]["total"], 1);
    let event: Value = sqlx::query_scalar(
        "SELECT envelope FROM outbox_events WHERE event_type = 'PRODUCT_CHANGED'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(event["payload"]["productId"], id);
    assert_eq!(event["payload"]["change"], "CREATED");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_seller_edits_only_its_own_products(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let owner = app.user(Role::Seller).await;
    let rival = app.user(Role::Seller).await;
    let created = app
        .post("/api/seller/products")
        .bearer(&owner.token)
        .json(&phone("zep-2", c.phones))
        .send()
        .await;
    let id = created.json["productId"].as_str().unwrap().to_owned();
    let path = format!("/api/seller/products/{id}");

    let mut edit = phone("zep-2", c.phones);
    edit["name"] = json!("Zephyr Phone Pro");
    edit["variants"] = json!([{"sku": "ZEP-2-BLU", "name": "Blue", "priceModifier": "5.00", "attributes": {"color": "Blue"}}]);
    app.put(&path)
        .bearer(&rival.token)
        .json(&edit)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_your_product");
    // A house product is not this seller's either.
    app.put(&format!("/api/seller/products/{}", c.aster))
        .bearer(&owner.token)
        .json(&edit)
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "not_your_product");
    let updated = app.put(&path).bearer(&owner.token).json(&edit).send().await;
    updated.expect(StatusCode::OK);
    assert_eq!(updated.json["name"], "Zephyr Phone Pro");
    assert_eq!(updated.json["version"], 2);
    // The red variant left the listing but not the database (orders may point at it).
    assert_eq!(updated.json["variants"].as_array().unwrap().len(), 1);
    let retired: bool =
        sqlx::query_scalar("SELECT NOT is_active FROM product_variants WHERE sku = 'ZEP-2-RED'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(retired);
    let mut handover = edit.clone();
    handover["sellerId"] = json!(rival.seller_id.unwrap().to_string());
    app.put(&path)
        .bearer(&owner.token)
        .json(&handover)
        .send()
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.put("/api/seller/products/999999")
        .bearer(&owner.token)
        .json(&edit)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "product_not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_lists_for_the_house_or_for_a_seller_and_edits_anything(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    let seller = app.user(Role::Seller).await;
    let house = app
        .post("/api/admin/products")
        .bearer(&admin.token)
        .json(&phone("house-1", c.phones))
        .send()
        .await;
    house.expect(StatusCode::CREATED);
    let house_seller: i64 = sqlx::query_scalar("SELECT seller_id FROM sellers WHERE is_house")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(house.json["sellerId"], house_seller.to_string());
    let mut for_seller = phone("sel-1", c.phones);
    for_seller["sellerId"] = json!(seller.seller_id.unwrap().to_string());
    let listed = app
        .post("/api/admin/products")
        .bearer(&admin.token)
        .json(&for_seller)
        .send()
        .await;
    assert_eq!(
        listed.json["sellerId"],
        seller.seller_id.unwrap().to_string()
    );
    let mut hide = phone("sel-1", c.phones);
    hide["status"] = json!("INACTIVE");
    let id = listed.json["productId"].as_str().unwrap();
    let hidden = app
        .put(&format!("/api/admin/products/{id}"))
        .bearer(&admin.token)
        .json(&hide)
        .send()
        .await;
    hidden.expect(StatusCode::OK);
    assert_eq!(
        hidden.json["sellerId"],
        seller.seller_id.unwrap().to_string(),
        "an edit without sellerId keeps the owner"
    );
    app.get(&format!("/api/products/{id}"))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "product_not_found");
    let mut unknown = phone("sel-2", c.phones);
    unknown["sellerId"] = json!("999999");
    app.post("/api/admin/products")
        .bearer(&admin.token)
        .json(&unknown)
        .send()
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_seller");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_products_are_refused_and_change_nothing(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    let before = (
        count(&db, "products").await,
        count(&db, "product_variants").await,
        count(&db, "outbox_events").await,
    );
    let mut cases: Vec<(Value, StatusCode, &str)> = Vec::new();
    let with = |field: &str, value: Value| {
        let mut body = phone("bad-1", c.phones);
        body[field] = value;
        body
    };
    cases.push((
        with("basePrice", json!("-1.00")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with("basePrice", json!("99999999999.00")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with("basePrice", json!(599.99)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    ));
    cases.push((
        with("salePrice", json!("700.00")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with("name", json!("")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with("currency", json!("dollars")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    ));
    cases.push((
        with("categoryId", json!("999999")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_category",
    ));
    cases.push((
        with("sku", json!("ASTER-1")),
        StatusCode::CONFLICT,
        "sku_taken",
    ));
    cases.push((
        with("salePrise", json!("1.00")),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    ));
    cases.push((
        with("maxQuantityPerOrder", json!(0)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with("images", json!([{"url": "javascript:alert(1)"}])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    cases.push((
        with(
            "variants",
            json!([{"sku": "ASTER-1-BLU-128", "name": "Stolen", "priceModifier": "0"}]),
        ),
        StatusCode::CONFLICT,
        "sku_taken",
    ));
    cases.push((
        with(
            "variants",
            json!([{"sku": "V-1", "name": "Cheap", "priceModifier": "-600.00"}]),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    ));
    for (body, status, code) in cases {
        let refused = app
            .post("/api/admin/products")
            .bearer(&admin.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert_eq!(
            refused.json["error"]["code"], code,
            "{body}: {}",
            refused.text
        );
    }
    let after = (
        count(&db, "products").await,
        count(&db, "product_variants").await,
        count(&db, "outbox_events").await,
    );
    assert_eq!(before, after);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_sets_stock_per_variant_and_warehouse(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    // Black was out of stock; cache the product page first to prove the stock change reaches it.
    let page = format!("/api/products/{}", c.aster);
    assert_eq!(
        app.get(&page).send().await.json["variants"][1]["inStock"],
        false
    );
    let set = app
        .put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(
            &json!({"productId": c.aster.to_string(), "variantId": c.aster_black.to_string(),
                      "warehouseId": c.warehouse_de.to_string(), "quantityTotal": 40}),
        )
        .send()
        .await;
    set.expect(StatusCode::OK);
    assert_eq!(set.json["quantityTotal"], 40);
    assert_eq!(set.json["quantityAvailable"], 40);
    assert_eq!(set.json["lowStockThreshold"], 10);
    assert_eq!(
        app.get(&page).send().await.json["variants"][1]["inStock"],
        true
    );
    // Setting it again updates the same row.
    let again = app
        .put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(&json!({"productId": c.aster.to_string(), "variantId": c.aster_black.to_string(),
                      "warehouseId": c.warehouse_de.to_string(), "quantityTotal": 0, "lowStockThreshold": 3}))
        .send()
        .await;
    assert_eq!(again.json["inventoryId"], set.json["inventoryId"]);
    assert_eq!(again.json["lowStockThreshold"], 3);
    // A product without variants is stocked with variantId null.
    let plain = app
        .put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(&json!({"productId": c.cirrus.to_string(), "variantId": null, "warehouseId": c.warehouse_us.to_string(), "quantityTotal": 8}))
        .send()
        .await;
    plain.expect(StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/products/{}", c.cirrus))
            .send()
            .await
            .json["inStock"],
        true
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn stock_cannot_be_set_below_what_buyers_have_reserved(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    sqlx::query("UPDATE inventory SET quantity_reserved = 6 WHERE product_id = $1")
        .bind(c.drizzle)
        .execute(&db)
        .await
        .unwrap();
    let body = |total: i64| json!({"productId": c.drizzle.to_string(), "warehouseId": c.warehouse_us.to_string(), "quantityTotal": total});
    app.put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(&body(5))
        .send()
        .await
        .expect_error(StatusCode::CONFLICT, "stock_below_reserved");
    let total: i32 =
        sqlx::query_scalar("SELECT quantity_total FROM inventory WHERE product_id = $1")
            .bind(c.drizzle)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(total, 10);
    app.put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(&body(6))
        .send()
        .await
        .expect(StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_stock_updates_are_refused(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    stock(&db, c.ember, None, c.warehouse_us, 1).await;
    let rows_before = count(&db, "inventory").await;
    let s = |v: i64| v.to_string();
    for (body, status, code) in [
        (
            json!({"productId": s(c.ember), "warehouseId": s(c.warehouse_us), "quantityTotal": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"productId": s(c.ember), "warehouseId": s(c.warehouse_us), "quantityTotal": 100_000_000}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"productId": s(c.ember), "warehouseId": "999999", "quantityTotal": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_warehouse",
        ),
        (
            json!({"productId": "999999", "warehouseId": s(c.warehouse_us), "quantityTotal": 1}),
            StatusCode::NOT_FOUND,
            "product_not_found",
        ),
        (
            json!({"productId": s(c.aster), "variantId": null, "warehouseId": s(c.warehouse_us), "quantityTotal": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"productId": s(c.ember), "variantId": s(c.aster_blue), "warehouseId": s(c.warehouse_us), "quantityTotal": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"productId": s(c.aster), "variantId": s(c.aster_blue + 1000), "warehouseId": s(c.warehouse_us), "quantityTotal": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_variant",
        ),
        (
            json!({"productId": s(c.ember), "warehouseId": s(c.warehouse_us), "quantityTotal": "10"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let refused = app
            .put("/api/admin/inventory")
            .bearer(&admin.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        assert_eq!(
            refused.json["error"]["code"], code,
            "{body}: {}",
            refused.text
        );
    }
    assert_eq!(count(&db, "inventory").await, rows_before);
    let warehouses = app
        .get("/api/admin/warehouses")
        .bearer(&admin.token)
        .send()
        .await;
    assert_eq!(warehouses.json.as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn setting_stock_updates_the_redis_counter_too(db: sqlx::PgPool) {
    use edgeshop_core::inventory::counters;
    use edgeshop_core::inventory::reservations::{LineRequest, ReserveRequest, ShipTo};
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(Role::Admin).await;
    // A reservation loads the counter (10 - 2 = 8 left)...
    let checkout = shared_model::ids::CheckoutId(uuid::Uuid::new_v4());
    app.state
        .reservations
        .reserve(&ReserveRequest {
            saga: shared_model::ids::SagaId::for_checkout(checkout),
            checkout,
            cart_id: None,
            lines: vec![LineRequest {
                product: shared_model::ids::ProductId::new(c.drizzle),
                variant: None,
                quantity: 2,
            }],
            ship_to: ShipTo {
                country: "US".into(),
                state: String::new(),
            },
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(15),
        })
        .await
        .unwrap();
    // ...then an admin restocks to 30: 28 can be sold, in Redis as in PostgreSQL.
    let set = app
        .put("/api/admin/inventory")
        .bearer(&admin.token)
        .json(&json!({"productId": c.drizzle.to_string(), "warehouseId": c.warehouse_us.to_string(), "quantityTotal": 30}))
        .send()
        .await;
    set.expect(StatusCode::OK);
    assert_eq!(set.json["quantityAvailable"], 28);
    let row =
        shared_model::ids::InventoryId::parse(set.json["inventoryId"].as_str().unwrap()).unwrap();
    assert_eq!(
        counters::counter(app.state.reservations.keys(), row)
            .await
            .unwrap(),
        Some(28)
    );
}

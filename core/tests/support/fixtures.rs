//! A small hand-made catalog whose every count is known, so listing and facet tests can
//! assert exact numbers.
//!
//! Electronics > {Phones, Laptops}; Books. Effective prices: Aster 949.00 (sale), Borealis
//! 450.00, Cirrus 1299.99 (no stock), Drizzle 1499.00 (sale), Ember 19.99; Fog is INACTIVE.

use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct SmallCatalog {
    pub electronics: i64,
    pub phones: i64,
    pub laptops: i64,
    pub books: i64,
    pub warehouse_us: i64,
    pub warehouse_de: i64,
    pub aster: i64,
    pub aster_blue: i64,
    pub aster_black: i64,
    pub borealis: i64,
    pub cirrus: i64,
    pub drizzle: i64,
    pub ember: i64,
    pub fog: i64,
}

async fn category(db: &PgPool, name: &str, slug: &str, parent: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO categories (name, slug, parent_category_id) VALUES ($1, $2, $3) RETURNING category_id",
    )
    .bind(name)
    .bind(slug)
    .bind(parent)
    .fetch_one(db)
    .await
    .expect("category")
}

#[allow(clippy::too_many_arguments)]
async fn product(
    db: &PgPool,
    category: i64,
    name: &str,
    brand: &str,
    sku: &str,
    base: &str,
    sale: Option<&str>,
    rating: &str,
    reviews: i32,
    status: &str,
    days_old: i32,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO products (seller_id, category_id, name, brand, sku, base_price, sale_price,
                               avg_rating, review_count, status, created_at, description)
         VALUES ((SELECT seller_id FROM sellers WHERE is_house), $1, $2, $3, $4, $5::numeric,
                 $6::numeric, $7::numeric, $8, $9, now() - make_interval(days => $10), 'A fine thing.')
         RETURNING product_id",
    )
    .bind(category)
    .bind(name)
    .bind(brand)
    .bind(sku)
    .bind(base)
    .bind(sale)
    .bind(rating)
    .bind(reviews)
    .bind(status)
    .bind(days_old)
    .fetch_one(db)
    .await
    .expect("product")
}

async fn variant(
    db: &PgPool,
    product: i64,
    sku: &str,
    name: &str,
    modifier: &str,
    attributes: serde_json::Value,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO product_variants (product_id, sku, name, price_modifier, attributes)
         VALUES ($1, $2, $3, $4::numeric, $5) RETURNING variant_id",
    )
    .bind(product)
    .bind(sku)
    .bind(name)
    .bind(modifier)
    .bind(attributes)
    .fetch_one(db)
    .await
    .expect("variant")
}

pub async fn stock(db: &PgPool, product: i64, variant: Option<i64>, warehouse: i64, total: i32) {
    sqlx::query(
        "INSERT INTO inventory (product_id, variant_id, warehouse_id, quantity_total) VALUES ($1, $2, $3, $4)",
    )
    .bind(product)
    .bind(variant)
    .bind(warehouse)
    .bind(total)
    .execute(db)
    .await
    .expect("stock");
}

async fn warehouse(db: &PgPool, code: &str, country: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO warehouses (code, name, country, latitude, longitude)
         VALUES ($1, $1, $2, 40.0, -74.0) RETURNING warehouse_id",
    )
    .bind(code)
    .bind(country)
    .fetch_one(db)
    .await
    .expect("warehouse")
}

pub async fn small_catalog(db: &PgPool) -> SmallCatalog {
    let electronics = category(db, "Electronics", "electronics", None).await;
    let phones = category(db, "Phones", "phones", Some(electronics)).await;
    let laptops = category(db, "Laptops", "laptops", Some(electronics)).await;
    let books = category(db, "Books", "books", None).await;
    let warehouse_us = warehouse(db, "WH-US", "US").await;
    let warehouse_de = warehouse(db, "WH-DE", "DE").await;

    let aster = product(
        db,
        phones,
        "Aster Phone",
        "Apple",
        "ASTER-1",
        "999.00",
        Some("949.00"),
        "4.50",
        12,
        "ACTIVE",
        5,
    )
    .await;
    let aster_blue = variant(
        db,
        aster,
        "ASTER-1-BLU-128",
        "Blue, 128 GB",
        "0",
        serde_json::json!({"color": "Blue", "storage": "128 GB"}),
    )
    .await;
    let aster_black = variant(
        db,
        aster,
        "ASTER-1-BLK-256",
        "Black, 256 GB",
        "100.00",
        serde_json::json!({"color": "Black", "storage": "256 GB"}),
    )
    .await;
    let borealis = product(
        db,
        phones,
        "Borealis Phone",
        "Samsung",
        "BOREALIS-1",
        "450.00",
        None,
        "3.20",
        4,
        "ACTIVE",
        4,
    )
    .await;
    let cirrus = product(
        db,
        laptops,
        "Cirrus Laptop",
        "Apple",
        "CIRRUS-1",
        "1299.99",
        None,
        "4.80",
        30,
        "ACTIVE",
        3,
    )
    .await;
    let drizzle = product(
        db,
        laptops,
        "Drizzle Laptop",
        "Dell",
        "DRIZZLE-1",
        "1600.00",
        Some("1499.00"),
        "2.00",
        2,
        "ACTIVE",
        2,
    )
    .await;
    let ember = product(
        db,
        books,
        "Ember Novel",
        "Penguin",
        "EMBER-1",
        "19.99",
        None,
        "0",
        0,
        "ACTIVE",
        1,
    )
    .await;
    let fog = product(
        db,
        electronics,
        "Fog Reader",
        "Apple",
        "FOG-1",
        "120.00",
        None,
        "4.00",
        1,
        "INACTIVE",
        0,
    )
    .await;

    stock(db, aster, Some(aster_blue), warehouse_us, 5).await;
    stock(db, aster, Some(aster_black), warehouse_us, 0).await;
    stock(db, borealis, None, warehouse_de, 3).await;
    stock(db, cirrus, None, warehouse_us, 0).await;
    stock(db, drizzle, None, warehouse_us, 10).await;
    stock(db, ember, None, warehouse_de, 100).await;
    stock(db, fog, None, warehouse_us, 7).await;
    sqlx::query(
        "INSERT INTO product_images (product_id, image_url, is_primary, display_order)
         SELECT product_id, '/images/products/' || product_id || '/1.svg?v=1', true, 1 FROM products",
    )
    .execute(db)
    .await
    .expect("images");

    SmallCatalog {
        electronics,
        phones,
        laptops,
        books,
        warehouse_us,
        warehouse_de,
        aster,
        aster_blue,
        aster_black,
        borealis,
        cirrus,
        drizzle,
        ember,
        fog,
    }
}

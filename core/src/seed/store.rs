//! Batched writes of a generated [`Catalog`]. Every table is filled with
//! `INSERT ... SELECT ... FROM UNNEST($1::t[], ...)`: one round trip and one planned statement
//! per batch of rows instead of one per row, which is what makes 100k products take seconds.
//!
//! Ids: products and variants are referenced by later rows, so their ids are reserved up front
//! from the tables' own identity sequences and inserted with `OVERRIDING SYSTEM VALUE`.
//! `RETURNING` after a multi-row insert promises no row order, and mapping SKUs back to ids
//! would cost an extra 100k-row query. A `nextval` per row costs seconds at this size, so the
//! block is reserved with one `nextval` + `setval` while holding a lock that keeps every other
//! inserter (the only other `nextval` callers) out of the table until we commit. Small tables
//! (categories, users, sellers, warehouses) are upserted and mapped back by their unique key.

use std::collections::HashMap;

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgConnection;

use super::catalog_data::WAREHOUSES;
use super::generate::{
    CategorySeed, Chunk, ImageSeed, InventorySeed, LOW_STOCK_THRESHOLD, ProductSeed, ReviewSeed,
    SellerSeed, UserSeed, VariantSeed, image_url,
};

/// Rows per statement: large enough to amortise round trips, small enough that one batch's
/// arrays stay a few MB.
const BATCH: usize = 10_000;

/// `n` consecutive fresh ids of the identity column `table.column`, ascending.
async fn reserve_ids(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    n: usize,
) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    // SHARE ROW EXCLUSIVE blocks INSERTs (and so their nextval) until commit but not readers.
    // An INSERT holds its ROW EXCLUSIVE lock before it draws an id, so none is in flight once
    // we have the lock. `table` is one of our own constants, never user input.
    sqlx::query(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
        .execute(&mut *conn)
        .await
        .with_context(|| format!("locking {table}"))?;
    let first: i64 = sqlx::query_scalar(
        "SELECT setval(pg_get_serial_sequence($1, $2), nextval(pg_get_serial_sequence($1, $2)) + $3 - 1) - $3 + 1",
    )
    .bind(table)
    .bind(column)
    .bind(n as i64)
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("reserving {n} ids of {table}.{column}"))?;
    Ok((first..first + n as i64).collect())
}

/// Inserts the tree level by level (the path trigger reads the parent's row, which must already
/// exist) and returns the id of every category by index.
pub async fn categories(conn: &mut PgConnection, categories: &[CategorySeed]) -> Result<Vec<i64>> {
    let mut ids = vec![0i64; categories.len()];
    let max_level = categories.iter().map(|c| c.level).max().unwrap_or(0);
    for level in 0..=max_level {
        let rows: Vec<usize> = (0..categories.len())
            .filter(|&i| categories[i].level == level)
            .collect();
        let names: Vec<&str> = rows.iter().map(|&i| categories[i].name.as_str()).collect();
        let slugs: Vec<&str> = rows.iter().map(|&i| categories[i].slug.as_str()).collect();
        let parents: Vec<Option<i64>> = rows
            .iter()
            .map(|&i| categories[i].parent.map(|p| ids[p]))
            .collect();
        let orders: Vec<i32> = rows.iter().map(|&i| categories[i].display_order).collect();
        // Upsert so seeding works on a database that already has some of these categories
        // (but no products); an existing category keeps its place in the tree.
        let returned: Vec<(i64, String)> = sqlx::query_as(
            "INSERT INTO categories (name, slug, parent_category_id, display_order) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::int[]) \
             ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, display_order = EXCLUDED.display_order \
             RETURNING category_id, slug",
        )
        .bind(&names)
        .bind(&slugs)
        .bind(&parents)
        .bind(&orders)
        .fetch_all(&mut *conn)
        .await
        .with_context(|| format!("inserting level-{level} categories"))?;
        let by_slug: HashMap<String, i64> =
            returned.into_iter().map(|(id, slug)| (slug, id)).collect();
        for &i in &rows {
            ids[i] = *by_slug
                .get(&categories[i].slug)
                .context("category missing from RETURNING")?;
        }
    }
    Ok(ids)
}

/// Upserts the demo accounts by email and returns their ids by index.
pub async fn users(
    conn: &mut PgConnection,
    users: &[UserSeed],
    password_hash: &str,
) -> Result<Vec<i64>> {
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    let first: Vec<&str> = users.iter().map(|u| u.first_name.as_str()).collect();
    let last: Vec<&str> = users.iter().map(|u| u.last_name.as_str()).collect();
    let roles: Vec<&str> = users.iter().map(|u| u.role).collect();
    let returned: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO users (email, password_hash, first_name, last_name, role) \
         SELECT e, $2, f, l, r FROM UNNEST($1::text[], $3::text[], $4::text[], $5::text[]) AS t(e, f, l, r) \
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, \
             first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, \
             role = EXCLUDED.role, status = 'ACTIVE', updated_at = now() \
         RETURNING user_id, email",
    )
    .bind(&emails)
    .bind(password_hash)
    .bind(&first)
    .bind(&last)
    .bind(&roles)
    .fetch_all(&mut *conn)
    .await
    .context("inserting demo users")?;
    let by_email: HashMap<String, i64> = returned
        .into_iter()
        .map(|(id, email)| (email, id))
        .collect();
    users
        .iter()
        .map(|u| {
            by_email
                .get(&u.email)
                .copied()
                .context("user missing from RETURNING")
        })
        .collect()
}

/// The house seller's id, re-created if missing (after a reset's TRUNCATE).
pub async fn house_seller(conn: &mut PgConnection) -> Result<i64> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT seller_id FROM sellers WHERE is_house")
        .fetch_optional(&mut *conn)
        .await
        .context("looking up the house seller")?;
    if let Some(id) = existing {
        return Ok(id);
    }
    // Same row as migration 0002 inserts.
    sqlx::query_scalar("INSERT INTO sellers (display_name, is_house) VALUES ('edgeshop Retail', true) RETURNING seller_id")
        .fetch_one(&mut *conn)
        .await
        .context("re-creating the house seller")
}

/// Upserts one marketplace seller per seller account and returns their ids by index.
pub async fn sellers(
    conn: &mut PgConnection,
    sellers: &[SellerSeed],
    user_ids: &[i64],
) -> Result<Vec<i64>> {
    let users: Vec<i64> = sellers.iter().map(|s| user_ids[s.user]).collect();
    let names: Vec<&str> = sellers.iter().map(|s| s.display_name.as_str()).collect();
    let returned: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO sellers (user_id, display_name) SELECT * FROM UNNEST($1::bigint[], $2::text[]) \
         ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name, status = 'ACTIVE' \
         RETURNING seller_id, user_id",
    )
    .bind(&users)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .context("inserting demo sellers")?;
    let by_user: HashMap<i64, i64> = returned.into_iter().map(|(id, user)| (user, id)).collect();
    users
        .iter()
        .map(|u| {
            by_user
                .get(u)
                .copied()
                .context("seller missing from RETURNING")
        })
        .collect()
}

/// Upserts the warehouses by code and returns their ids in `WAREHOUSES` order.
pub async fn warehouses(conn: &mut PgConnection) -> Result<Vec<i64>> {
    let codes: Vec<&str> = WAREHOUSES.iter().map(|w| w.code).collect();
    let names: Vec<&str> = WAREHOUSES.iter().map(|w| w.name).collect();
    let countries: Vec<&str> = WAREHOUSES.iter().map(|w| w.country).collect();
    let states: Vec<&str> = WAREHOUSES.iter().map(|w| w.state).collect();
    let postal: Vec<&str> = WAREHOUSES.iter().map(|w| w.postal_code).collect();
    let lat: Vec<Decimal> = WAREHOUSES
        .iter()
        .map(|w| Decimal::new(w.latitude_e6, 6))
        .collect();
    let long: Vec<Decimal> = WAREHOUSES
        .iter()
        .map(|w| Decimal::new(w.longitude_e6, 6))
        .collect();
    let returned: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO warehouses (code, name, country, state, postal_code, latitude, longitude) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[]) \
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country, state = EXCLUDED.state, \
             postal_code = EXCLUDED.postal_code, latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, is_active = true \
         RETURNING warehouse_id, code",
    )
    .bind(&codes)
    .bind(&names)
    .bind(&countries)
    .bind(&states)
    .bind(&postal)
    .bind(&lat)
    .bind(&long)
    .fetch_all(&mut *conn)
    .await
    .context("inserting warehouses")?;
    let by_code: HashMap<String, i64> = returned.into_iter().map(|(id, code)| (code, id)).collect();
    codes
        .iter()
        .map(|c| {
            by_code
                .get(*c)
                .copied()
                .context("warehouse missing from RETURNING")
        })
        .collect()
}

/// Database ids of the rows every chunk refers to.
pub struct FixedIds<'a> {
    pub category_ids: &'a [i64],
    pub house_seller: i64,
    pub seller_ids: &'a [i64],
    pub user_ids: &'a [i64],
    pub warehouse_ids: &'a [i64],
}

/// Rows written for one chunk.
#[derive(Debug, Default)]
pub struct Written {
    pub products: u64,
    pub variants: u64,
    pub images: u64,
    pub inventory_rows: u64,
    pub reviews: u64,
}

/// Writes one chunk of products and everything hanging off them, parents first.
pub async fn chunk(conn: &mut PgConnection, chunk: &Chunk, ids: &FixedIds<'_>) -> Result<Written> {
    let product_ids = reserve_ids(conn, "products", "product_id", chunk.products.len()).await?;
    let variant_ids =
        reserve_ids(conn, "product_variants", "variant_id", chunk.variants.len()).await?;
    Ok(Written {
        products: products(conn, &chunk.products, &product_ids, ids).await?,
        variants: variants(conn, &chunk.variants, &variant_ids, &product_ids).await?,
        images: images(conn, &chunk.images, &product_ids).await?,
        inventory_rows: inventory(
            conn,
            &chunk.inventory,
            &product_ids,
            &variant_ids,
            ids.warehouse_ids,
        )
        .await?,
        reviews: reviews(conn, &chunk.reviews, &product_ids, ids.user_ids).await?,
    })
}

async fn products(
    conn: &mut PgConnection,
    products: &[ProductSeed],
    product_ids: &[i64],
    refs: &FixedIds<'_>,
) -> Result<u64> {
    let mut written = 0;
    for (batch, chunk) in products.chunks(BATCH).enumerate() {
        let ids = &product_ids[batch * BATCH..batch * BATCH + chunk.len()];
        let sellers: Vec<i64> = chunk
            .iter()
            .map(|p| p.seller.map_or(refs.house_seller, |s| refs.seller_ids[s]))
            .collect();
        let categories: Vec<i64> = chunk
            .iter()
            .map(|p| refs.category_ids[p.category])
            .collect();
        let names: Vec<&str> = chunk.iter().map(|p| p.name.as_str()).collect();
        let descriptions: Vec<&str> = chunk.iter().map(|p| p.description.as_str()).collect();
        let brands: Vec<&str> = chunk.iter().map(|p| p.brand.as_str()).collect();
        let skus: Vec<&str> = chunk.iter().map(|p| p.sku.as_str()).collect();
        let base: Vec<Decimal> = chunk.iter().map(|p| p.base_price).collect();
        let sale: Vec<Option<Decimal>> = chunk.iter().map(|p| p.sale_price).collect();
        let attributes: Vec<&Value> = chunk.iter().map(|p| &p.attributes).collect();
        let ages: Vec<i32> = chunk.iter().map(|p| p.age_secs).collect();
        // effective_price is GENERATED; now() is the transaction's start, so ages are exact.
        written += sqlx::query(
            "INSERT INTO products (product_id, seller_id, category_id, name, description, brand, sku, \
                 base_price, sale_price, attributes, created_at, updated_at) OVERRIDING SYSTEM VALUE \
             SELECT id, s, c, n, d, b, k, bp, sp, a, now() - age * interval '1 second', now() - age * interval '1 second' \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::numeric[], $9::numeric[], $10::jsonb[], $11::int[]) AS t(id, s, c, n, d, b, k, bp, sp, a, age)",
        )
        .bind(ids)
        .bind(&sellers)
        .bind(&categories)
        .bind(&names)
        .bind(&descriptions)
        .bind(&brands)
        .bind(&skus)
        .bind(&base)
        .bind(&sale)
        .bind(&attributes)
        .bind(&ages)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting products batch {batch}"))?
        .rows_affected();
    }
    Ok(written)
}

async fn variants(
    conn: &mut PgConnection,
    variants: &[VariantSeed],
    variant_ids: &[i64],
    product_ids: &[i64],
) -> Result<u64> {
    let mut written = 0;
    for (batch, chunk) in variants.chunks(BATCH).enumerate() {
        let ids = &variant_ids[batch * BATCH..batch * BATCH + chunk.len()];
        let products: Vec<i64> = chunk.iter().map(|v| product_ids[v.product]).collect();
        let skus: Vec<&str> = chunk.iter().map(|v| v.sku.as_str()).collect();
        let names: Vec<&str> = chunk.iter().map(|v| v.name.as_str()).collect();
        let modifiers: Vec<Decimal> = chunk.iter().map(|v| v.price_modifier).collect();
        let attributes: Vec<&Value> = chunk.iter().map(|v| &v.attributes).collect();
        let orders: Vec<i32> = chunk.iter().map(|v| v.display_order).collect();
        written += sqlx::query(
            "INSERT INTO product_variants (variant_id, product_id, sku, name, price_modifier, attributes, display_order) \
             OVERRIDING SYSTEM VALUE \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::numeric[], $6::jsonb[], $7::int[])",
        )
        .bind(ids)
        .bind(&products)
        .bind(&skus)
        .bind(&names)
        .bind(&modifiers)
        .bind(&attributes)
        .bind(&orders)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting variants batch {batch}"))?
        .rows_affected();
    }
    Ok(written)
}

async fn images(conn: &mut PgConnection, images: &[ImageSeed], product_ids: &[i64]) -> Result<u64> {
    let mut written = 0;
    for (batch, chunk) in images.chunks(BATCH).enumerate() {
        let products: Vec<i64> = chunk.iter().map(|i| product_ids[i.product]).collect();
        let urls: Vec<String> = chunk
            .iter()
            .zip(&products)
            .map(|(i, &p)| image_url(p, i.n))
            .collect();
        let alts: Vec<&str> = chunk.iter().map(|i| i.alt_text.as_str()).collect();
        let orders: Vec<i32> = chunk.iter().map(|i| i.n as i32 - 1).collect();
        let primary: Vec<bool> = chunk.iter().map(|i| i.is_primary).collect();
        written += sqlx::query(
            "INSERT INTO product_images (product_id, image_url, alt_text, display_order, is_primary) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::int[], $5::bool[])",
        )
        .bind(&products)
        .bind(&urls)
        .bind(&alts)
        .bind(&orders)
        .bind(&primary)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting images batch {batch}"))?
        .rows_affected();
    }
    Ok(written)
}

async fn inventory(
    conn: &mut PgConnection,
    rows: &[InventorySeed],
    product_ids: &[i64],
    variant_ids: &[i64],
    warehouse_ids: &[i64],
) -> Result<u64> {
    let mut written = 0;
    for (batch, chunk) in rows.chunks(BATCH).enumerate() {
        let products: Vec<i64> = chunk.iter().map(|r| product_ids[r.product]).collect();
        let variants: Vec<Option<i64>> = chunk
            .iter()
            .map(|r| r.variant.map(|v| variant_ids[v]))
            .collect();
        let warehouses: Vec<i64> = chunk.iter().map(|r| warehouse_ids[r.warehouse]).collect();
        let totals: Vec<i32> = chunk.iter().map(|r| r.quantity_total).collect();
        // quantity_available is GENERATED; nothing is reserved yet.
        written += sqlx::query(
            "INSERT INTO inventory (product_id, variant_id, warehouse_id, quantity_total, low_stock_threshold) \
             SELECT p, v, w, q, $5 FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::int[]) AS t(p, v, w, q)",
        )
        .bind(&products)
        .bind(&variants)
        .bind(&warehouses)
        .bind(&totals)
        .bind(LOW_STOCK_THRESHOLD)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting inventory batch {batch}"))?
        .rows_affected();
    }
    Ok(written)
}

async fn reviews(
    conn: &mut PgConnection,
    reviews: &[ReviewSeed],
    product_ids: &[i64],
    user_ids: &[i64],
) -> Result<u64> {
    let mut written = 0;
    for (batch, chunk) in reviews.chunks(BATCH).enumerate() {
        let products: Vec<i64> = chunk.iter().map(|r| product_ids[r.product]).collect();
        let users: Vec<i64> = chunk.iter().map(|r| user_ids[r.user]).collect();
        let ratings: Vec<i16> = chunk.iter().map(|r| r.rating).collect();
        let titles: Vec<&str> = chunk.iter().map(|r| r.title.as_str()).collect();
        let bodies: Vec<&str> = chunk.iter().map(|r| r.body.as_str()).collect();
        let ages: Vec<i32> = chunk.iter().map(|r| r.age_secs).collect();
        // verified_purchase stays false and helpful_count 0: no demo orders or votes exist,
        // and the seeded data should agree with the rest of the database.
        written += sqlx::query(
            "INSERT INTO reviews (product_id, user_id, rating, title, body, status, created_at, updated_at) \
             SELECT p, u, r, t, b, 'PUBLISHED', now() - age * interval '1 second', now() - age * interval '1 second' \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::int[]) AS x(p, u, r, t, b, age)",
        )
        .bind(&products)
        .bind(&users)
        .bind(&ratings)
        .bind(&titles)
        .bind(&bodies)
        .bind(&ages)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("inserting reviews batch {batch}"))?
        .rows_affected();
    }
    Ok(written)
}

/// Sets every product's avg_rating and review_count from its published reviews in one
/// statement (cheaper than maintaining them row by row during the load).
pub async fn rating_aggregates(conn: &mut PgConnection) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE products p SET avg_rating = s.avg_rating, review_count = s.review_count \
         FROM (SELECT product_id, round(avg(rating), 2) AS avg_rating, count(*)::int AS review_count \
               FROM reviews WHERE status = 'PUBLISHED' GROUP BY product_id) s \
         WHERE p.product_id = s.product_id",
    )
    .execute(conn)
    .await
    .context("updating product rating aggregates")?
    .rows_affected())
}

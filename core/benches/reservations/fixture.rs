//! The bench's shop: a fresh database with a small seeded catalog and one hot SKU whose stock
//! sits in a single row, so every buyer contends for the same counter and the same row.

use std::str::FromStr;

use anyhow::{Context, Result};
use edgeshop_core::seed::{SeedOptions, seed_catalog};
use edgeshop_core::startup;
use shared_model::ids::{InventoryId, ProductId, VariantId};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// Products in the catalog around the hot one: enough for real joins, quick to seed.
const CATALOG_PRODUCTS: u32 = 20;
const RNG_SEED: u64 = 2024;

/// The SKU everyone wants and its one stock row.
#[derive(Debug, Clone, Copy)]
pub struct HotSku {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub row: InventoryId,
}

/// Drops and recreates the bench database, so every run starts from the same state, then
/// migrates it and seeds a small catalog.
pub async fn fresh_database(url: &str, max_connections: u32) -> Result<PgPool> {
    let options =
        PgConnectOptions::from_str(url).context("BENCH_DATABASE_URL is not a PostgreSQL URL")?;
    let name = options
        .get_database()
        .context("BENCH_DATABASE_URL must name a database (it is dropped and recreated)")?
        .to_owned();
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .context("connecting to the `postgres` database to recreate the bench database")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping {name}"))?;
    sqlx::query(&format!("CREATE DATABASE {quoted}"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating {name}"))?;
    admin.close().await.ok();

    // The shop's own pool settings, so every phase talks to PostgreSQL as the shop does.
    let db = startup::pool_options(max_connections)
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {name}"))?;
    startup::MIGRATOR
        .run(&db)
        .await
        .context("running migrations")?;
    seed_catalog(
        &db,
        &SeedOptions {
            products: CATALOG_PRODUCTS,
            reset: false,
            rng_seed: RNG_SEED,
        },
    )
    .await
    .context("seeding the catalog")?;
    Ok(db)
}

/// Picks an active product (one sold without variants if there is one) and gives it a single
/// stock row in one warehouse.
pub async fn hot_sku(db: &PgPool) -> Result<HotSku> {
    let (product, variant): (i64, Option<i64>) = sqlx::query_as(
        "SELECT p.product_id, v.variant_id
           FROM products p
           LEFT JOIN LATERAL (SELECT variant_id FROM product_variants pv
                               WHERE pv.product_id = p.product_id AND pv.is_active
                               ORDER BY variant_id LIMIT 1) v ON true
          WHERE p.status = 'ACTIVE'
          ORDER BY (v.variant_id IS NOT NULL), p.product_id
          LIMIT 1",
    )
    .fetch_one(db)
    .await
    .context("picking the hot product")?;
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM inventory WHERE product_id = $1")
        .bind(product)
        .execute(&mut *tx)
        .await
        .context("clearing the hot product's stock rows")?;
    let row: i64 = sqlx::query_scalar(
        "INSERT INTO inventory (product_id, variant_id, warehouse_id, quantity_total, low_stock_threshold)
         SELECT $1, $2, warehouse_id, 0, 0 FROM warehouses WHERE is_active ORDER BY warehouse_id LIMIT 1
         RETURNING inventory_id",
    )
    .bind(product)
    .bind(variant)
    .fetch_one(&mut *tx)
    .await
    .context("creating the hot stock row")?;
    tx.commit().await?;
    Ok(HotSku {
        product: ProductId::new(product),
        variant: variant.map(VariantId::new),
        row: InventoryId::new(row),
    })
}

/// Starts a phase from the same state as every other: no reservation rows, `units` on hand,
/// and the tables vacuumed, so no phase inherits the dead rows of the one before it.
pub async fn restock(db: &PgPool, sku: &HotSku, units: i32) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("TRUNCATE inventory_reservations")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE inventory SET quantity_reserved = 0, quantity_total = $2 WHERE inventory_id = $1",
    )
    .bind(sku.row.get())
    .bind(units)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("restocking the hot SKU")?;
    sqlx::query("VACUUM (ANALYZE) inventory, inventory_reservations")
        .execute(db)
        .await
        .context("vacuuming between phases")?;
    Ok(())
}

/// The hot row as PostgreSQL has it: (total, reserved).
pub async fn stock(db: &PgPool, sku: &HotSku) -> Result<(i64, i64)> {
    let (total, reserved): (i32, i32) = sqlx::query_as(
        "SELECT quantity_total, quantity_reserved FROM inventory WHERE inventory_id = $1",
    )
    .bind(sku.row.get())
    .fetch_one(db)
    .await
    .context("reading the hot row")?;
    Ok((i64::from(total), i64::from(reserved)))
}

/// Units held by pending durable reservations of the hot row.
pub async fn pending_units(db: &PgPool, sku: &HotSku) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(quantity), 0)::bigint FROM inventory_reservations
          WHERE inventory_id = $1 AND status = 'PENDING'",
    )
    .bind(sku.row.get())
    .fetch_one(db)
    .await
    .context("summing pending reservations")
}

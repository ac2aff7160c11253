//! The demo catalog behind `edgeshop-core seed --products N`: a department tree, brands,
//! products with variants, images, stock in six warehouses, demo sellers and customers, and
//! reviews. Generation is pure and seeded (`generate.rs`, word lists in `catalog_data.rs`);
//! this module decides whether to seed and drives the batched writes (`store.rs`) inside one
//! transaction, so a failed run leaves nothing behind.
//!
//! Every demo account (`seller1..5@demo.edgeshop.local`, `customer1..200@demo.edgeshop.local`)
//! has the password `edgeshop-demo`, stored as ONE argon2id hash shared by all of them.

mod catalog_data;
mod generate;
mod store;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::{Acquire, PgPool};
use tracing::{info, warn};

pub use generate::{DEMO_DOMAIN, DEMO_PASSWORD};

/// What to seed. `rng_seed` fixes the whole catalog: the same seed and product count always
/// give the same names, prices, SKUs and stock.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub products: u32,
    /// Empty the catalog (and delete the demo accounts) first instead of skipping a seeded DB.
    pub reset: bool,
    pub rng_seed: u64,
}

/// Rows written by one call (all zero when `skipped`). `sellers` counts the house seller too.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub categories: u64,
    pub sellers: u64,
    pub warehouses: u64,
    pub products: u64,
    pub variants: u64,
    pub images: u64,
    pub inventory_rows: u64,
    pub reviews: u64,
    pub elapsed: Duration,
    /// True when products already existed and `reset` was false: nothing was written.
    pub skipped: bool,
}

/// Products generated (and written) per chunk.
const CHUNK_PRODUCTS: usize = 5_000;
const LOG_EVERY_PRODUCTS: u64 = 20_000;

/// Serialises concurrent seeders (several core replicas starting at once): the second one
/// waits, then finds the products and skips.
const SEED_LOCK_KEY: i64 = 0x6564_6765_5345_4544; // "edgeSEED"

/// Tables the reset empties. CASCADE also empties every table holding a foreign key to them
/// (cart_items, order_items, ...): a reset demo shop has no lines pointing at old products.
const CATALOG_TABLES: &str = "inventory_reservations, inventory, review_votes, reviews, product_images, \
     product_variants, products, categories, warehouses, sellers";

pub async fn seed_catalog(pool: &PgPool, options: &SeedOptions) -> Result<SeedReport> {
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .context("starting the seed transaction")?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SEED_LOCK_KEY)
        .execute(&mut *tx)
        .await
        .context("taking the seed lock")?;

    let seeded: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM products)")
        .fetch_one(&mut *tx)
        .await
        .context("checking for existing products")?;
    if seeded && !options.reset {
        info!("seed: products already exist, skipping (use --reset to reseed)");
        return Ok(SeedReport {
            skipped: true,
            elapsed: started.elapsed(),
            ..SeedReport::default()
        });
    }
    if options.reset {
        reset(&mut tx).await?;
    }

    // CPU-bound work (argon2, and ~1M generated rows at 100k products) stays off the async
    // workers.
    let rng_seed = options.rng_seed;
    let (generator, fixed, password_hash) = tokio::task::spawn_blocking(move || {
        let (generator, fixed) = generate::Generator::new(rng_seed);
        generate::demo_password_hash(rng_seed).map(|hash| (generator, fixed, hash))
    })
    .await
    .context("catalog generation panicked")??;

    let mut report = SeedReport::default();
    let conn = &mut *tx;
    let category_ids = store::categories(conn, &fixed.categories).await?;
    let warehouse_ids = store::warehouses(conn).await?;
    let user_ids = store::users(conn, &fixed.users, &password_hash).await?;
    let house_seller = store::house_seller(conn).await?;
    let seller_ids = store::sellers(conn, &fixed.sellers, &user_ids).await?;
    report.categories = category_ids.len() as u64;
    report.warehouses = warehouse_ids.len() as u64;
    report.sellers = 1 + seller_ids.len() as u64;
    info!(
        categories = report.categories,
        warehouses = report.warehouses,
        users = user_ids.len(),
        sellers = report.sellers,
        "seed: categories, warehouses, users and sellers written"
    );

    // Generation runs one chunk ahead of the writes, on another core: the database is the
    // bottleneck, so generating costs no wall time and only two chunks are ever in memory.
    let (chunks_tx, mut chunks) = tokio::sync::mpsc::channel::<generate::Chunk>(1);
    let total = options.products as usize;
    let producer = tokio::task::spawn_blocking(move || {
        let mut generator = generator;
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK_PRODUCTS);
            left -= n;
            // A send fails only when the writer stopped on an error; stop too.
            if chunks_tx.blocking_send(generator.chunk(n)).is_err() {
                break;
            }
        }
    });
    let ids = store::FixedIds {
        category_ids: &category_ids,
        house_seller,
        seller_ids: &seller_ids,
        user_ids: &user_ids,
        warehouse_ids: &warehouse_ids,
    };
    while let Some(chunk) = chunks.recv().await {
        let written = store::chunk(conn, &chunk, &ids).await?;
        report.products += written.products;
        report.variants += written.variants;
        report.images += written.images;
        report.inventory_rows += written.inventory_rows;
        report.reviews += written.reviews;
        if report.products % LOG_EVERY_PRODUCTS == 0 || report.products == total as u64 {
            info!(
                products = report.products,
                of = total,
                variants = report.variants,
                images = report.images,
                inventory_rows = report.inventory_rows,
                reviews = report.reviews,
                ms = started.elapsed().as_millis() as u64,
                "seed: products written"
            );
        }
    }
    producer.await.context("catalog generation panicked")?;

    let rated = store::rating_aggregates(&mut tx).await?;
    info!(
        rated_products = rated,
        ms = started.elapsed().as_millis() as u64,
        "seed: ratings aggregated"
    );

    // Fresh statistics for the small tables now; products and inventory get VACUUM ANALYZE
    // below, which cannot run inside a transaction.
    sqlx::query(
        "ANALYZE categories, sellers, users, warehouses, product_variants, product_images, reviews",
    )
    .execute(&mut *tx)
    .await
    .context("analyzing seeded tables")?;
    tx.commit().await.context("committing the seed")?;

    // VACUUM sets the visibility map (index-only scans on inventory_product_idx and the listing
    // indexes need it) and clears the dead rows the rating UPDATE left. Simple protocol: VACUUM
    // refuses to run inside the implicit transaction of a prepared statement batch.
    sqlx::raw_sql("VACUUM (ANALYZE) products, inventory")
        .execute(pool)
        .await
        .context("vacuuming products and inventory")?;

    report.elapsed = started.elapsed();
    info!(
        products = report.products,
        variants = report.variants,
        images = report.images,
        inventory_rows = report.inventory_rows,
        reviews = report.reviews,
        seconds = report.elapsed.as_secs_f64(),
        "seed: done"
    );
    Ok(report)
}

/// Empties the catalog and deletes the accounts earlier seeds created. Only addresses matching
/// exactly what `generate` creates are deleted; every other account is left alone.
async fn reset(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<()> {
    // TRUNCATE ... CASCADE would also empty order_items and leave orders without lines: a
    // reset is for demo shops, never for one that has taken orders.
    let has_orders: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders)")
        .fetch_one(&mut **tx)
        .await
        .context("checking for orders")?;
    if has_orders {
        anyhow::bail!(
            "refusing to reset: this shop has orders, and a reset would delete their lines"
        );
    }
    warn!(
        tables = CATALOG_TABLES,
        "seed: reset, truncating the catalog (CASCADE)"
    );
    sqlx::query(&format!(
        "TRUNCATE {CATALOG_TABLES} RESTART IDENTITY CASCADE"
    ))
    .execute(&mut **tx)
    .await
    .context("truncating the catalog tables")?;

    // A demo account may be referenced by rows a reset does not empty (an order placed while
    // trying the shop). Then the delete fails; roll back to the savepoint and keep the
    // accounts: the seeder upserts them by email, so they are reused instead.
    let mut savepoint = tx.begin().await.context("opening a savepoint")?;
    let deleted = sqlx::query("DELETE FROM users WHERE email ~ $1")
        .bind(format!(
            r"^(seller|customer)[0-9]+@{}$",
            DEMO_DOMAIN.replace('.', r"\.")
        ))
        .execute(&mut *savepoint)
        .await;
    match deleted {
        Ok(done) => {
            savepoint
                .commit()
                .await
                .context("releasing the savepoint")?;
            info!(
                deleted = done.rows_affected(),
                "seed: demo accounts deleted"
            );
        }
        // 23503: foreign_key_violation.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
            savepoint
                .rollback()
                .await
                .context("rolling back to the savepoint")?;
            warn!(error = %e, "seed: demo accounts are still referenced, keeping and reusing them");
        }
        Err(e) => return Err(e).context("deleting demo accounts"),
    }
    Ok(())
}

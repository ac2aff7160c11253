//! The demo-catalog seeder against a real, migrated PostgreSQL (one database per test).

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use edgeshop_core::seed::{SeedOptions, SeedReport, seed_catalog};
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> u64 {
    let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
    n as u64
}

/// Row counts the report must agree with.
async fn table_counts(pool: &PgPool) -> [u64; 8] {
    [
        count(pool, "SELECT count(*) FROM categories").await,
        count(pool, "SELECT count(*) FROM sellers").await,
        count(pool, "SELECT count(*) FROM warehouses").await,
        count(pool, "SELECT count(*) FROM products").await,
        count(pool, "SELECT count(*) FROM product_variants").await,
        count(pool, "SELECT count(*) FROM product_images").await,
        count(pool, "SELECT count(*) FROM inventory").await,
        count(pool, "SELECT count(*) FROM reviews").await,
    ]
}

fn report_counts(r: &SeedReport) -> [u64; 8] {
    [
        r.categories,
        r.sellers,
        r.warehouses,
        r.products,
        r.variants,
        r.images,
        r.inventory_rows,
        r.reviews,
    ]
}

/// A digest of the catalog's content (not its ids), to show a reseed is the same catalog.
async fn fingerprint(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(sku || name || base_price::text || coalesce(sale_price::text, '') || attributes::text, '|' ORDER BY sku)) FROM products",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn seeding_builds_a_consistent_catalog(pool: PgPool) {
    // An account the seeder must never touch, even on reset (same domain, other pattern too).
    for email in ["someone@example.com", "admin@demo.edgeshop.local"] {
        sqlx::query(
            "INSERT INTO users (email, password_hash, first_name) VALUES ($1, 'x', 'Someone')",
        )
        .bind(email)
        .execute(&pool)
        .await
        .unwrap();
    }

    let options = SeedOptions {
        products: 500,
        reset: false,
        rng_seed: 42,
    };
    let report = seed_catalog(&pool, &options).await.unwrap();
    assert!(!report.skipped);
    assert_eq!(report.products, 500);
    assert_eq!(
        report_counts(&report),
        table_counts(&pool).await,
        "{report:?}"
    );
    assert_eq!(report.sellers, 6, "house seller + 5 demo sellers");
    assert_eq!(report.warehouses, 6);
    assert!(report.variants > 0 && report.reviews > 0);

    // Every product has 1-3 images and exactly one primary.
    let bad_images = count(
        &pool,
        "SELECT count(*) FROM products p WHERE (SELECT count(*) FROM product_images i WHERE i.product_id = p.product_id) NOT BETWEEN 1 AND 3 \
            OR (SELECT count(*) FROM product_images i WHERE i.product_id = p.product_id AND i.is_primary) <> 1",
    )
    .await;
    assert_eq!(bad_images, 0);
    let wrong_urls = count(
        &pool,
        "SELECT count(*) FROM product_images WHERE image_url <> '/images/products/' || product_id || '/' || (display_order + 1) || '.svg?v=1'",
    )
    .await;
    assert_eq!(wrong_urls, 0);

    // Stock rows are per variant for products with variants and variant-less otherwise, and
    // every purchasable unit has at least one.
    let variant_products_with_plain_stock = count(
        &pool,
        "SELECT count(*) FROM inventory i WHERE i.variant_id IS NULL \
            AND EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = i.product_id)",
    )
    .await;
    assert_eq!(variant_products_with_plain_stock, 0);
    let unstocked = count(
        &pool,
        "SELECT (SELECT count(*) FROM product_variants v WHERE NOT EXISTS (SELECT 1 FROM inventory i WHERE i.variant_id = v.variant_id)) \
              + (SELECT count(*) FROM products p WHERE NOT EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.product_id) \
                   AND NOT EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = p.product_id AND i.variant_id IS NULL))",
    )
    .await;
    assert_eq!(unstocked, 0);
    let sold_out = count(
        &pool,
        "SELECT count(*) FROM (SELECT product_id FROM inventory GROUP BY product_id HAVING sum(quantity_available) = 0) s",
    )
    .await;
    assert!(sold_out > 0, "some products are out of stock");
    let bad_thresholds = count(&pool, "SELECT count(*) FROM inventory WHERE low_stock_threshold <> 10 OR quantity_total NOT BETWEEN 0 AND 500").await;
    assert_eq!(bad_thresholds, 0);

    // Ratings agree with the published reviews.
    let rating_mismatches = count(
        &pool,
        "SELECT count(*) FROM products p LEFT JOIN (SELECT product_id, round(avg(rating), 2) AS a, count(*) AS c \
             FROM reviews WHERE status = 'PUBLISHED' GROUP BY product_id) r USING (product_id) \
         WHERE p.avg_rating <> coalesce(r.a, 0) OR p.review_count <> coalesce(r.c, 0)",
    )
    .await;
    assert_eq!(rating_mismatches, 0);

    // Category paths and levels follow the parents.
    let bad_paths = count(
        &pool,
        "SELECT count(*) FROM categories c LEFT JOIN categories p ON p.category_id = c.parent_category_id \
         WHERE (p.category_id IS NULL AND (c.path <> '/' || c.category_id || '/' OR c.level <> 0)) \
            OR (p.category_id IS NOT NULL AND (c.path <> p.path || c.category_id || '/' OR c.level <> p.level + 1))",
    )
    .await;
    assert_eq!(bad_paths, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM categories WHERE parent_category_id IS NULL"
        )
        .await,
        8
    );
    // Products sit in leaf categories only.
    let in_inner = count(
        &pool,
        "SELECT count(*) FROM products p WHERE EXISTS (SELECT 1 FROM categories c WHERE c.parent_category_id = p.category_id)",
    )
    .await;
    assert_eq!(in_inner, 0);

    // Products are spread over the house seller and the demo sellers, who are SELLER accounts.
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT seller_id) FROM products").await,
        6
    );
    let bad_sellers = count(
        &pool,
        "SELECT count(*) FROM sellers s LEFT JOIN users u USING (user_id) WHERE NOT s.is_house AND (u.role IS DISTINCT FROM 'SELLER')",
    )
    .await;
    assert_eq!(bad_sellers, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM users WHERE email LIKE 'customer%@demo.edgeshop.local' AND role = 'CUSTOMER'").await, 200);

    // One shared argon2id hash of the demo password.
    let hashes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT password_hash FROM users WHERE email ~ '^(seller|customer)[0-9]+@demo\\.edgeshop\\.local$'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(hashes.len(), 1);
    let parsed = PasswordHash::new(&hashes[0]).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(b"edgeshop-demo", &parsed)
            .is_ok()
    );

    // Seeding again without reset changes nothing.
    let before = fingerprint(&pool).await;
    let again = seed_catalog(&pool, &options).await.unwrap();
    assert!(again.skipped);
    assert_eq!(table_counts(&pool).await, report_counts(&report));

    // A reset reseeds the same catalog, and leaves other accounts alone.
    let reseeded = seed_catalog(
        &pool,
        &SeedOptions {
            reset: true,
            ..options
        },
    )
    .await
    .unwrap();
    assert!(!reseeded.skipped);
    assert_eq!(report_counts(&reseeded), report_counts(&report));
    assert_eq!(table_counts(&pool).await, report_counts(&report));
    assert_eq!(fingerprint(&pool).await, before);
    assert_eq!(
        count(&pool, "SELECT min(product_id) FROM products").await,
        1,
        "identities restart"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM users WHERE email IN ('someone@example.com', 'admin@demo.edgeshop.local')").await, 2);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM users WHERE email LIKE '%@demo.edgeshop.local'"
        )
        .await,
        206
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM sellers WHERE is_house").await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn reset_reuses_demo_accounts_that_are_still_referenced(pool: PgPool) {
    let options = SeedOptions {
        products: 50,
        reset: false,
        rng_seed: 7,
    };
    let first = seed_catalog(&pool, &options).await.unwrap();
    // Something outside the catalog (an order, say) still points at a demo customer.
    sqlx::query("CREATE TABLE holds_a_user (user_id BIGINT NOT NULL REFERENCES users (user_id))")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO holds_a_user SELECT user_id FROM users WHERE email = 'customer1@demo.edgeshop.local'")
        .execute(&pool)
        .await
        .unwrap();
    let customer1 = count(
        &pool,
        "SELECT user_id FROM users WHERE email = 'customer1@demo.edgeshop.local'",
    )
    .await;

    let reseeded = seed_catalog(
        &pool,
        &SeedOptions {
            reset: true,
            ..options
        },
    )
    .await
    .unwrap();
    assert_eq!(report_counts(&reseeded), report_counts(&first));
    assert_eq!(table_counts(&pool).await, report_counts(&first));
    assert_eq!(
        count(
            &pool,
            "SELECT user_id FROM users WHERE email = 'customer1@demo.edgeshop.local'"
        )
        .await,
        customer1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM users WHERE email LIKE '%@demo.edgeshop.local'"
        )
        .await,
        205
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn reset_refuses_a_shop_that_has_taken_orders(pool: PgPool) {
    let options = SeedOptions {
        products: 20,
        reset: false,
        rng_seed: 3,
    };
    seed_catalog(&pool, &options).await.unwrap();
    let user: i64 = sqlx::query_scalar("SELECT user_id FROM users LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO orders (order_number, user_id, saga_id, checkout_id, subtotal, total_amount, shipping_address)
         VALUES ('ORD-2026-TEST00000000', $1, gen_random_uuid(), gen_random_uuid(), 10, 10, '{}')",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    let products_before: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&pool)
        .await
        .unwrap();
    let err = seed_catalog(
        &pool,
        &SeedOptions {
            reset: true,
            ..options
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("has orders"), "{err:#}");
    let products_after: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(products_before, products_after);
}

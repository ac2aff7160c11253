//! The in-memory listing index must answer exactly what PostgreSQL answers: the same products
//! in the same order, the same totals and the same facet counts, for every kind of filter.

mod support;

use edgeshop_core::catalog::listing;
use edgeshop_core::seed::{SeedOptions, seed_catalog};
use shared_model::catalog::ListingFilter;
use support::TestApp;

async fn filters(db: &sqlx::PgPool) -> Vec<ListingFilter> {
    // Departments and leaves, each with the brand it sells most (and a brand nobody sells).
    let scopes: Vec<(Option<String>, String)> = sqlx::query_as(
        "WITH chosen AS (
            (SELECT category_id, path FROM categories WHERE level = 0 ORDER BY category_id LIMIT 3)
            UNION ALL
            (SELECT category_id, path FROM categories WHERE level > 0 ORDER BY category_id DESC LIMIT 4))
         SELECT c.category_id::text,
                (SELECT p.brand FROM products p JOIN categories pc ON pc.category_id = p.category_id
                  WHERE pc.path LIKE c.path || '%' GROUP BY p.brand ORDER BY count(*) DESC, p.brand LIMIT 1)
           FROM chosen c
         UNION ALL
         SELECT NULL, (SELECT brand FROM products GROUP BY brand ORDER BY count(*) DESC, brand LIMIT 1)",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let sorts = ["newest", "price_asc", "price_desc", "rating"];
    let prices = [
        (None, None),
        (Some("100"), Some("999.99")),
        (Some("1500"), None),
        (None, Some("49.99")),
    ];
    let ratings = [None, Some("4"), Some("1")];
    let mut filters = Vec::new();
    for (i, (category, top_brand)) in scopes.iter().enumerate() {
        for (j, brand) in [None, Some(top_brand.as_str()), Some("No Such Brand")]
            .into_iter()
            .enumerate()
        {
            for (k, (min, max)) in prices.iter().enumerate() {
                // Every combination of filters, with the sort, rating, page and size rotating.
                let sort = sorts[(i + j + k) % sorts.len()];
                let rating = ratings[(i + k) % ratings.len()];
                let page = ((i + j + k) % 2).to_string();
                let size = ["5", "20", "50"][(i + k) % 3];
                let params = [
                    ("category", category.as_deref()),
                    ("brand", brand),
                    ("minPrice", *min),
                    ("maxPrice", *max),
                    ("minRating", rating),
                    ("sort", Some(sort)),
                    ("page", Some(page.as_str())),
                    ("size", Some(size)),
                ];
                filters.push(
                    ListingFilter::parse(|k| {
                        params
                            .iter()
                            .find(|(key, _)| *key == k)
                            .and_then(|(_, v)| *v)
                    })
                    .unwrap(),
                );
            }
        }
    }
    filters
}

#[sqlx::test(migrations = "../migrations")]
async fn the_index_answers_exactly_what_postgresql_answers(db: sqlx::PgPool) {
    seed_catalog(
        &db,
        &SeedOptions {
            products: 1500,
            reset: false,
            rng_seed: 11,
        },
    )
    .await
    .unwrap();
    // Ties in every sort order, so the tie-breaks are exercised too.
    sqlx::query("UPDATE products SET created_at = date_trunc('month', created_at), avg_rating = round(avg_rating, 0)")
        .execute(&db)
        .await
        .unwrap();
    let app = TestApp::new(db.clone()).await;
    let filters = filters(&db).await;
    assert!(filters.len() >= 90);
    let mut compared_pages = 0;
    for filter in &filters {
        let from_index = listing::list_products(&app.state, filter, Some(1)).await;
        let from_sql = listing::list_with_sql(&app.state, filter).await;
        match (from_index, from_sql) {
            (Ok(index), Ok(sql)) => {
                assert_eq!(
                    index, sql,
                    "the index and PostgreSQL disagree on {filter:?}"
                );
                compared_pages += usize::from(!sql.products.is_empty());
            }
            (Err(index), Err(sql)) => assert_eq!(index.to_string(), sql.to_string(), "{filter:?}"),
            (index, sql) => panic!(
                "{filter:?}: index {:?} but PostgreSQL {:?}",
                index.is_ok(),
                sql.is_ok()
            ),
        }
    }
    assert!(
        compared_pages >= 30,
        "too few non-empty pages compared: {compared_pages}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_write_reaches_the_next_listing_through_the_generation(db: sqlx::PgPool) {
    seed_catalog(
        &db,
        &SeedOptions {
            products: 50,
            reset: false,
            rng_seed: 5,
        },
    )
    .await
    .unwrap();
    let app = TestApp::new(db.clone()).await;
    let filter = ListingFilter::parse(|k| (k == "minPrice").then_some("9999999")).unwrap();
    assert_eq!(
        listing::list_products(&app.state, &filter, Some(1))
            .await
            .unwrap()
            .pagination
            .total,
        0
    );
    sqlx::query("UPDATE products SET base_price = 9999999.00, sale_price = NULL WHERE product_id = (SELECT min(product_id) FROM products)")
        .execute(&db)
        .await
        .unwrap();
    // The same generation keeps answering from the snapshot it was built for...
    assert_eq!(
        listing::list_products(&app.state, &filter, Some(1))
            .await
            .unwrap()
            .pagination
            .total,
        0
    );
    // ...and the next generation (a write bumps it after committing) sees the write.
    assert_eq!(
        listing::list_products(&app.state, &filter, Some(2))
            .await
            .unwrap()
            .pagination
            .total,
        1
    );
}

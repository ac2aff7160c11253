//! The record of flash-sale claims (`flash_sales::store`) as PostgreSQL runs it in a sale: the
//! claims table grows from nothing to thousands of rows within a minute, long before autovacuum
//! first analyzes it, so its statements must find their rows by their keys however small the
//! table was when a connection first ran them.

mod support;

use edgeshop_core::flash_sales::store;
use shared_model::auth::Role;
use shared_model::ids::SagaId;
use sqlx::PgPool;
use support::TestApp;
use support::fixtures::small_catalog;

/// Claims the sale writes after the settlement's connection first ran.
const LATER_CLAIMS: i32 = 5_000;

/// Writes `count` claims of `sale` numbered from `first`, every other one still CLAIMED.
async fn claim(db: &PgPool, sale: i64, buyer: i64, first: i32, count: i32) {
    sqlx::query(
        "INSERT INTO flash_sale_tokens
                (flash_sale_id, token, saga_id, checkout_id, user_id, admission_id, status, expires_at)
         SELECT $1, n, gen_random_uuid(), gen_random_uuid(), $2, gen_random_uuid(),
                CASE WHEN n % 2 = 0 THEN 'SOLD' ELSE 'CLAIMED' END, now() + interval '5 minutes'
           FROM generate_series($3::int, $3::int + $4::int - 1) AS n",
    )
    .bind(sale)
    .bind(buyer)
    .bind(first)
    .bind(count)
    .execute(db)
    .await
    .unwrap();
}

/// The settlement moves a batch of sagas' claims reading only those claims' index entries:
/// on a connection that settled many times while the table held two claims (a statement
/// PostgreSQL keeps prepared gets a generic plan for the table as it was then) and after the
/// sale wrote thousands more, none of them analyzed. It used to walk the whole index of held
/// tokens and filter by saga, a cost that grew with every claim of the sale.
#[sqlx::test(migrations = "../migrations")]
async fn claims_are_settled_through_their_sagas_however_the_table_grew(db: PgPool) {
    let app = TestApp::new(db.clone()).await;
    let catalog = small_catalog(&db).await;
    let buyer = app.user(Role::Customer).await.user_id;
    // As in a sale's first minutes: autovacuum has not analyzed the claims yet (nor may it
    // during the test, which needs the table without statistics).
    sqlx::raw_sql("ALTER TABLE flash_sale_tokens SET (autovacuum_enabled = false)")
        .execute(&db)
        .await
        .unwrap();
    let sale: i64 = sqlx::query_scalar(
        "INSERT INTO flash_sales (product_id, units, sale_price, starts_at)
         VALUES ($1, $2, 9.99, now()) RETURNING flash_sale_id",
    )
    .bind(catalog.drizzle)
    .bind(LATER_CLAIMS + 2)
    .fetch_one(&db)
    .await
    .unwrap();
    claim(&db, sale, buyer, 1, 2).await;

    let mut conn = db.acquire().await.unwrap();
    let nobody = [SagaId(uuid::Uuid::new_v4())];
    for _ in 0..10 {
        let settled = store::settle_sold(&mut conn, &nobody).await.unwrap();
        assert!(settled.is_empty());
    }

    claim(&db, sale, buyer, 3, LATER_CLAIMS).await;
    let never_analyzed: f32 =
        sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = 'flash_sale_tokens'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        never_analyzed, -1.0,
        "the test needs a table with no statistics"
    );
    let sagas: Vec<SagaId> = sqlx::query_scalar(
        "SELECT saga_id FROM flash_sale_tokens WHERE status = 'CLAIMED' ORDER BY token DESC LIMIT 3",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .into_iter()
    .map(SagaId)
    .collect();

    // What the transaction read so far, by the claims table's indexes and by scanning it whole.
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
    let settled = store::settle_sold(&mut conn, &sagas).await.unwrap();
    let (read_by_index, read_whole): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0)::bigint
                   FROM pg_index WHERE indrelid = 'flash_sale_tokens'::regclass),
                pg_stat_get_xact_tuples_returned('flash_sale_tokens'::regclass)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut *conn).await.unwrap();

    assert_eq!(
        settled.len(),
        sagas.len(),
        "each saga's claim is settled once"
    );
    assert_eq!(read_whole, 0, "the claims table was scanned whole");
    assert!(
        read_by_index <= 2 * sagas.len() as i64,
        "{read_by_index} index entries read to settle {} claims among {}",
        sagas.len(),
        LATER_CLAIMS + 2
    );
    let sold: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM flash_sale_tokens WHERE saga_id = ANY($1) AND status = 'SOLD'",
    )
    .bind(sagas.iter().map(|s| s.0).collect::<Vec<_>>())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(sold, sagas.len() as i64);
}

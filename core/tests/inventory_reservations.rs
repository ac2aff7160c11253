//! Reserving stock under real contention and real failures: many buyers racing for a few
//! units, Redis losing its data or going away, counters that lie, crashes between the stores.

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use edgeshop_core::inventory::counters;
use edgeshop_core::inventory::reservation_store::{self, DurableReservation, WriteOutcome};
use edgeshop_core::inventory::reservations::{
    LineRequest, ReleaseKind, Reservations, ReserveOutcome, ReserveRequest, ShipTo,
};
use edgeshop_core::kv::Redis;
use edgeshop_tests::RedisServer;
use shared_model::ids::{CheckoutId, InventoryId, OrderId, ProductId, SagaId, VariantId};
use support::fixtures::{SmallCatalog, small_catalog, stock};

fn redis(url: &str) -> Redis {
    Redis::new(url, &format!("test:{}:", uuid::Uuid::new_v4().simple())).unwrap()
}

fn request(lines: Vec<LineRequest>, country: &str) -> ReserveRequest {
    let checkout = CheckoutId(uuid::Uuid::new_v4());
    ReserveRequest {
        saga: SagaId::for_checkout(checkout),
        checkout,
        cart_id: None,
        lines,
        ship_to: ShipTo {
            country: country.into(),
            state: String::new(),
        },
        expires_at: Utc::now() + Duration::minutes(15),
    }
}

fn line(product: i64, variant: Option<i64>, quantity: u32) -> LineRequest {
    LineRequest {
        product: ProductId::new(product),
        variant: variant.map(VariantId::new),
        quantity,
    }
}

async fn row(db: &sqlx::PgPool, product: i64) -> (i64, i32, i32) {
    sqlx::query_as("SELECT inventory_id, quantity_total, quantity_reserved FROM inventory WHERE product_id = $1 ORDER BY inventory_id LIMIT 1")
        .bind(product)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn set_total(db: &sqlx::PgPool, product: i64, total: i32) {
    sqlx::query("UPDATE inventory SET quantity_total = $2 WHERE product_id = $1")
        .bind(product)
        .bind(total)
        .execute(db)
        .await
        .unwrap();
}

/// Races `buyers` one-unit reservations of `product` and answers how many were reserved.
async fn race(reservations: &Arc<Reservations>, product: i64, buyers: usize) -> usize {
    let tasks: Vec<_> = (0..buyers)
        .map(|_| {
            let reservations = reservations.clone();
            tokio::spawn(async move {
                reservations
                    .reserve(&request(vec![line(product, None, 1)], "US"))
                    .await
            })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ReserveOutcome::Reserved(_) => reserved += 1,
            ReserveOutcome::Short(short) => assert_eq!(short[0].requested, 1),
        }
    }
    reserved
}

async fn pending_units(db: &sqlx::PgPool, product: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE(sum(r.quantity), 0)::bigint FROM inventory_reservations r JOIN inventory i USING (inventory_id)
          WHERE i.product_id = $1 AND r.status = 'PENDING'",
    )
    .bind(product)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn setup(db: &sqlx::PgPool, redis_url: &str) -> (SmallCatalog, Arc<Reservations>) {
    let catalog = small_catalog(db).await;
    (
        catalog,
        Arc::new(Reservations::new(db.clone(), redis(redis_url))),
    )
}

#[sqlx::test(migrations = "../migrations")]
async fn two_hundred_buyers_race_for_fifty_units_and_exactly_fifty_win(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    set_total(&db, c.drizzle, 50).await;
    assert_eq!(race(&reservations, c.drizzle, 200).await, 50);
    let (inventory_id, total, reserved) = row(&db, c.drizzle).await;
    assert_eq!((total, reserved), (50, 50));
    assert_eq!(pending_units(&db, c.drizzle).await, 50);
    assert_eq!(
        counters::counter(reservations.keys(), InventoryId::new(inventory_id))
            .await
            .unwrap(),
        Some(0)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_multi_item_order_with_one_short_line_reserves_nothing(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let outcome = reservations
        .reserve(&request(
            vec![
                line(c.aster, Some(c.aster_blue), 2),
                line(c.drizzle, None, 1),
                line(c.aster, Some(c.aster_black), 1),
            ],
            "US",
        ))
        .await
        .unwrap();
    let ReserveOutcome::Short(short) = outcome else {
        panic!("expected short: {outcome:?}")
    };
    assert_eq!(short.len(), 1);
    assert_eq!(
        (short[0].line, short[0].requested, short[0].available),
        (2, 1, 0)
    );
    let reserved: i64 = sqlx::query_scalar("SELECT sum(quantity_reserved)::bigint FROM inventory")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(reserved, 0);
    // The lines that fitted were not taken from Redis either: all of them can still be bought.
    let all = reservations
        .reserve(&request(
            vec![
                line(c.aster, Some(c.aster_blue), 5),
                line(c.drizzle, None, 10),
            ],
            "US",
        ))
        .await
        .unwrap();
    assert!(matches!(all, ReserveOutcome::Reserved(_)), "{all:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_line_comes_from_the_nearest_warehouse_and_splits_only_when_it_must(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    stock(&db, c.drizzle, None, c.warehouse_de, 5).await;
    let ReserveOutcome::Reserved(from_us) = reservations
        .reserve(&request(vec![line(c.drizzle, None, 4)], "US"))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(from_us.len(), 1);
    assert_eq!(from_us[0].warehouse_id.get(), c.warehouse_us);
    let ReserveOutcome::Reserved(from_de) = reservations
        .reserve(&request(vec![line(c.drizzle, None, 2)], "DE"))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(from_de[0].warehouse_id.get(), c.warehouse_de);
    // 6 left in the US, 3 in Germany: 8 takes all of the US and 2 from Germany.
    let ReserveOutcome::Reserved(split) = reservations
        .reserve(&request(vec![line(c.drizzle, None, 8)], "US"))
        .await
        .unwrap()
    else {
        panic!()
    };
    let mut parts: Vec<(i64, u32)> = split
        .iter()
        .map(|a| (a.warehouse_id.get(), a.quantity))
        .collect();
    parts.sort();
    let mut expected = vec![(c.warehouse_us, 6), (c.warehouse_de, 2)];
    expected.sort();
    assert_eq!(parts, expected);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retried_reservation_holds_its_units_once(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let req = request(vec![line(c.drizzle, None, 3)], "US");
    let first = reservations.reserve(&req).await.unwrap();
    let again = reservations.reserve(&req).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(row(&db, c.drizzle).await.2, 3);
}

async fn reservation_rows(db: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM inventory_reservations")
        .fetch_one(db)
        .await
        .unwrap()
}

fn durable(row: i64, quantity: u32) -> DurableReservation {
    let checkout = CheckoutId(uuid::Uuid::new_v4());
    DurableReservation {
        saga: SagaId::for_checkout(checkout),
        checkout,
        cart_id: None,
        expires_at: Utc::now() + Duration::minutes(15),
        rows: vec![(InventoryId::new(row), quantity)],
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn one_bad_reservation_in_a_durable_batch_refuses_only_itself(db: sqlx::PgPool) {
    let c = small_catalog(&db).await;
    let (inventory_id, _, before) = row(&db, c.drizzle).await;
    let written_earlier = durable(inventory_id, 2);
    let first =
        reservation_store::write_batch(&mut db.acquire().await.unwrap(), &[&written_earlier])
            .await
            .unwrap();
    let Ok(WriteOutcome::Written(first_ids)) = &first[0] else {
        panic!("the first write must take: {first:?}");
    };
    // The ids it reports are the rows it wrote.
    let stored: Vec<(i64, i64)> =
        sqlx::query_as("SELECT inventory_id, reservation_id FROM inventory_reservations")
            .fetch_all(&db)
            .await
            .unwrap();
    let reported: Vec<(i64, i64)> = first_ids
        .iter()
        .map(|(r, id)| (r.get(), id.get()))
        .collect();
    assert_eq!(reported, stored);

    let fresh = durable(inventory_id, 1);
    let unknown_row = durable(inventory_id + 10_000, 1);
    let outcomes = reservation_store::write_batch(
        &mut db.acquire().await.unwrap(),
        &[&fresh, &written_earlier, &unknown_row],
    )
    .await
    .unwrap();
    assert!(
        matches!(&outcomes[0], Ok(WriteOutcome::Written(ids)) if ids.len() == 1 && ids != first_ids),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(&outcomes[1], Ok(WriteOutcome::Written(ids)) if ids == first_ids),
        "written before, so durable, with the rows written then: {:?}",
        outcomes[1]
    );
    let refused = outcomes[2].as_ref().expect_err("no such stock row");
    assert_eq!(
        refused.as_database_error().and_then(|e| e.constraint()),
        Some("inventory_reservations_stock_row")
    );
    // The earlier saga's units are counted once; the refused one left nothing behind.
    assert_eq!(row(&db, c.drizzle).await.2, before + 3);
    assert_eq!(reservation_rows(&db).await, 2);
}

/// A batch on one stock row is written as one statement that commits as it ends; when the
/// database refuses it, nothing of it stays and each reservation is written alone.
#[sqlx::test(migrations = "../migrations")]
async fn a_refused_batch_on_one_stock_row_refuses_only_the_bad_reservation(db: sqlx::PgPool) {
    let c = small_catalog(&db).await;
    let (inventory_id, _, before) = row(&db, c.drizzle).await;
    let written_earlier = durable(inventory_id, 2);
    let mut conn = db.acquire().await.unwrap();
    reservation_store::write_batch(&mut conn, &[&written_earlier])
        .await
        .unwrap();
    let beyond = durable(inventory_id, 100);
    let fresh = durable(inventory_id, 1);
    let outcomes = reservation_store::write_batch(&mut conn, &[&fresh, &written_earlier, &beyond])
        .await
        .unwrap();
    assert!(
        matches!(&outcomes[0], Ok(WriteOutcome::Written(ids)) if ids.len() == 1),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(&outcomes[1], Ok(WriteOutcome::Written(ids)) if ids.len() == 1),
        "written before, so durable: {:?}",
        outcomes[1]
    );
    assert!(
        matches!(&outcomes[2], Ok(WriteOutcome::BeyondStock)),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(row(&db, c.drizzle).await.2, before + 3);
    assert_eq!(reservation_rows(&db).await, 2);
}

/// A flash sale updates its stock row hundreds of times a second. Those updates must stay
/// heap-only (no index holds a column they change, and the row's page has room), or every one
/// adds an entry to each of the table's indexes and the row's lookups slow as the sale goes on.
#[sqlx::test(migrations = "../migrations")]
async fn reserving_updates_the_stock_row_heap_only(db: sqlx::PgPool) {
    let c = small_catalog(&db).await;
    let (inventory_id, ..) = row(&db, c.ember).await;
    // In one transaction, whose own statistics say how each update was made.
    let mut tx = db.begin().await.unwrap();
    for _ in 0..20 {
        let outcomes = reservation_store::write_batch(&mut tx, &[&durable(inventory_id, 1)])
            .await
            .unwrap();
        assert!(matches!(&outcomes[0], Ok(WriteOutcome::Written(_))));
    }
    let (updated, heap_only): (i64, i64) = sqlx::query_as(
        "SELECT pg_stat_get_xact_tuples_updated('inventory'::regclass),
                pg_stat_get_xact_tuples_hot_updated('inventory'::regclass)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((updated, heap_only), (20, 20));
}

#[sqlx::test(migrations = "../migrations")]
async fn release_gives_units_back_and_confirm_sells_them(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let (inventory_id, ..) = row(&db, c.drizzle).await;
    let held = request(vec![line(c.drizzle, None, 3)], "US");
    reservations.reserve(&held).await.unwrap();
    assert_eq!(
        reservations
            .release(held.saga, ReleaseKind::Released)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        reservations
            .release(held.saga, ReleaseKind::Released)
            .await
            .unwrap()
            .is_empty(),
        "idempotent"
    );
    assert_eq!(row(&db, c.drizzle).await, (inventory_id, 10, 0));
    let counter = || counters::counter(reservations.keys(), InventoryId::new(inventory_id));
    assert_eq!(counter().await.unwrap(), Some(10));

    let sold = request(vec![line(c.drizzle, None, 4)], "US");
    reservations.reserve(&sold).await.unwrap();
    let user: i64 = sqlx::query_scalar("INSERT INTO users (email, password_hash, first_name) VALUES ('b@example.com', 'x', 'B') RETURNING user_id").fetch_one(&db).await.unwrap();
    let order: i64 = sqlx::query_scalar(
        "INSERT INTO orders (order_number, user_id, saga_id, checkout_id, subtotal, total_amount, shipping_address)
         VALUES ('ORD-TEST-1', $1, $2, $3, 10, 10, '{}') RETURNING order_id",
    )
    .bind(user)
    .bind(sold.saga.0)
    .bind(sold.checkout.0)
    .fetch_one(&db)
    .await
    .unwrap();
    let mut tx = db.begin().await.unwrap();
    reservations
        .confirm_in(&mut tx, sold.saga, OrderId::new(order))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    reservations.forget_hold(sold.saga).await;
    assert_eq!(row(&db, c.drizzle).await, (inventory_id, 6, 0));
    // The sale is not given back to Redis: 6 left there too.
    assert_eq!(counter().await.unwrap(), Some(6));
    assert!(
        reservations
            .release(sold.saga, ReleaseKind::Expired)
            .await
            .unwrap()
            .is_empty(),
        "a sale cannot be released"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn counters_lost_in_a_flushall_are_rebuilt_before_the_next_reservation(db: sqlx::PgPool) {
    let server = RedisServer::start();
    let (c, reservations) = setup(&db, &server.url()).await;
    set_total(&db, c.drizzle, 40).await;
    assert_eq!(race(&reservations, c.drizzle, 30).await, 30);
    server.flushall();
    // 10 left: eighty buyers after the flush still get exactly ten.
    assert_eq!(race(&reservations, c.drizzle, 80).await, 10);
    let (inventory_id, total, reserved) = row(&db, c.drizzle).await;
    assert_eq!((total, reserved), (40, 40));
    assert_eq!(
        counters::counter(reservations.keys(), InventoryId::new(inventory_id))
            .await
            .unwrap(),
        Some(0)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn with_redis_stopped_reservations_fall_back_to_row_locks_and_never_oversell(
    db: sqlx::PgPool,
) {
    let mut server = RedisServer::start();
    let (c, reservations) = setup(&db, &server.url()).await;
    set_total(&db, c.drizzle, 60).await;
    assert_eq!(race(&reservations, c.drizzle, 20).await, 20);
    server.stop();
    assert_eq!(race(&reservations, c.drizzle, 30).await, 30);
    server.restart();
    // Back up and empty: the counters are rebuilt from PostgreSQL, which counts both paths.
    assert_eq!(race(&reservations, c.drizzle, 40).await, 10);
    assert_eq!(row(&db, c.drizzle).await.2, 60);
    assert_eq!(pending_units(&db, c.drizzle).await, 60);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_counter_that_promises_too_much_is_corrected_not_believed(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let (inventory_id, ..) = row(&db, c.drizzle).await;
    // Load the counter, then make it lie.
    reservations
        .reserve(&request(vec![line(c.drizzle, None, 1)], "US"))
        .await
        .unwrap();
    let keys = reservations.keys().clone();
    counters::resync(&keys, &[(InventoryId::new(inventory_id), 1000)])
        .await
        .unwrap();
    assert_eq!(race(&reservations, c.drizzle, 40).await, 9);
    assert_eq!(row(&db, c.drizzle).await.2, 10);
    let counter = counters::counter(&keys, InventoryId::new(inventory_id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        counter <= 0,
        "the counter was corrected from PostgreSQL, found {counter}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_orphan_sweep_returns_holds_that_never_became_durable(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let (inventory_id, ..) = row(&db, c.drizzle).await;
    let keys = reservations.keys().clone();
    reservations
        .reserve(&request(vec![line(c.drizzle, None, 1)], "US"))
        .await
        .unwrap();
    // A process that held 4 units in Redis and died before writing them to PostgreSQL.
    let crashed = SagaId(uuid::Uuid::new_v4());
    let demand = [counters::LineDemand {
        quantity: 4,
        candidates: vec![InventoryId::new(inventory_id)],
    }];
    let past = (Utc::now() - Duration::seconds(1)).timestamp_millis();
    counters::reserve(&keys, crashed, past, &demand)
        .await
        .unwrap();
    assert_eq!(
        counters::counter(&keys, InventoryId::new(inventory_id))
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        reservations.sweep_orphan_holds(Utc::now()).await.unwrap(),
        1
    );
    assert_eq!(
        counters::counter(&keys, InventoryId::new(inventory_id))
            .await
            .unwrap(),
        Some(9)
    );
    // The live reservation was left alone.
    assert_eq!(
        reservations.sweep_orphan_holds(Utc::now()).await.unwrap(),
        0
    );
    assert_eq!(row(&db, c.drizzle).await.2, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn falling_to_the_low_stock_threshold_is_announced_once(db: sqlx::PgPool) {
    let (c, reservations) = setup(&db, &support::redis_url()).await;
    let low_stock = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'INVENTORY_LOW_STOCK'",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    // Ember: 100 units, threshold 10.
    reservations
        .reserve(&request(vec![line(c.ember, None, 85)], "DE"))
        .await
        .unwrap();
    assert_eq!(low_stock().await, 0, "15 left is above the threshold");
    reservations
        .reserve(&request(vec![line(c.ember, None, 5)], "DE"))
        .await
        .unwrap();
    assert_eq!(low_stock().await, 1, "10 left is the threshold");
    reservations
        .reserve(&request(vec![line(c.ember, None, 1)], "DE"))
        .await
        .unwrap();
    assert_eq!(
        low_stock().await,
        1,
        "announced once, not per buyer after it"
    );
    let event: serde_json::Value = sqlx::query_scalar(
        "SELECT envelope FROM outbox_events WHERE event_type = 'INVENTORY_LOW_STOCK'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(event["payload"]["quantityAvailable"], 10);
    assert_eq!(event["payload"]["productId"], c.ember.to_string());
}

//! The database's own guarantees: each test inserts the fewest rows that break one rule and
//! checks PostgreSQL refuses them with the constraint the application maps to an API error.
//! Every test runs on a fresh database with all migrations applied (`DATABASE_URL` names the
//! server, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::PgPool;
use uuid::Uuid;

/// The name of the constraint that refused `result`; panics if the row was accepted.
fn refused_by<T: std::fmt::Debug>(result: Result<T, sqlx::Error>) -> String {
    let err = match result {
        Ok(value) => panic!("the database accepted what it must refuse: {value:?}"),
        Err(err) => err,
    };
    err.as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("refused without naming a constraint: {err}"))
}

async fn user(pool: &PgPool, email: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, first_name) VALUES ($1, 'x', 'Test') RETURNING user_id",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A product of the house seller, in a fresh category.
async fn product(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "WITH c AS (INSERT INTO categories (name, slug) VALUES ('Phones', 'phones') RETURNING category_id)
         INSERT INTO products (seller_id, category_id, name, brand, sku, base_price)
         SELECT (SELECT seller_id FROM sellers WHERE is_house), category_id, 'Phone', 'Acme', 'SKU-1', 100.00
         FROM c RETURNING product_id",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A stock row holding `total` units of a new product in a new warehouse.
async fn stock(pool: &PgPool, total: i32) -> i64 {
    let product_id = product(pool).await;
    sqlx::query_scalar(
        "WITH w AS (INSERT INTO warehouses (code, name, country, latitude, longitude)
                    VALUES ('W1', 'Main', 'US', 0, 0) RETURNING warehouse_id)
         INSERT INTO inventory (product_id, warehouse_id, quantity_total)
         SELECT $1, warehouse_id, $2 FROM w RETURNING inventory_id",
    )
    .bind(product_id)
    .bind(total)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Inserts an order with the given amounts; the caller decides whether they add up.
async fn insert_order(
    pool: &PgPool,
    user_id: i64,
    number: &str,
    status: &str,
    [subtotal, discount, tax, shipping, total]: [Decimal; 5],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO orders (order_number, user_id, saga_id, checkout_id, status, subtotal,
                             discount_amount, tax_amount, shipping_amount, total_amount, shipping_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{\"city\": \"Springfield\"}')
         RETURNING order_id",
    )
    .bind(number)
    .bind(user_id)
    .bind(Uuid::new_v4())
    .bind(Uuid::new_v4())
    .bind(status)
    .bind(subtotal)
    .bind(discount)
    .bind(tax)
    .bind(shipping)
    .bind(total)
    .fetch_one(pool)
    .await
}

/// 100 - 10 + 7.20 + 5 = 102.20
const GOOD_AMOUNTS: [Decimal; 5] = [
    dec!(100.00),
    dec!(10.00),
    dec!(7.20),
    dec!(5.00),
    dec!(102.20),
];

async fn order(pool: &PgPool, number: &str) -> i64 {
    let user_id = user(pool, &format!("{}@example.test", number.to_lowercase())).await;
    insert_order(pool, user_id, number, "PENDING", GOOD_AMOUNTS)
        .await
        .unwrap()
}

async fn captured_payment(pool: &PgPool, order_id: i64, amount: Decimal) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO payments (order_id, amount, payment_method, payment_gateway, idempotency_key, status)
         VALUES ($1, $2, 'CARD', 'sandbox', $3, 'CAPTURED') RETURNING payment_id",
    )
    .bind(order_id)
    .bind(amount)
    .bind(Uuid::new_v4().to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

/// What the refund path does: record the refund and claim its amount on the payment, in one
/// transaction.
async fn refund(
    pool: &PgPool,
    payment_id: i64,
    order_id: i64,
    amount: Decimal,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO refunds (payment_id, order_id, amount, idempotency_key) VALUES ($1, $2, $3, $4)")
        .bind(payment_id)
        .bind(order_id)
        .bind(amount)
        .bind(Uuid::new_v4().to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE payments SET refunded_amount = refunded_amount + $2 WHERE payment_id = $1")
        .bind(payment_id)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[sqlx::test(migrations = "../migrations")]
async fn reserving_more_than_the_total_is_refused(pool: PgPool) {
    let inventory_id = stock(&pool, 5).await;
    let reserve = |n: i32| {
        sqlx::query("UPDATE inventory SET quantity_reserved = quantity_reserved + $2 WHERE inventory_id = $1")
            .bind(inventory_id)
            .bind(n)
            .execute(&pool)
    };
    reserve(5).await.expect("reserving every unit is allowed");
    assert_eq!(
        refused_by(reserve(1).await),
        "inventory_reserved_within_total"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn stock_never_goes_negative(pool: PgPool) {
    let inventory_id = stock(&pool, 2).await;
    let released_too_much =
        sqlx::query("UPDATE inventory SET quantity_reserved = -1 WHERE inventory_id = $1")
            .bind(inventory_id)
            .execute(&pool)
            .await;
    assert_eq!(
        refused_by(released_too_much),
        "inventory_reserved_non_negative"
    );

    let oversold = sqlx::query(
        "UPDATE inventory SET quantity_total = quantity_total - 3 WHERE inventory_id = $1",
    )
    .bind(inventory_id)
    .execute(&pool)
    .await;
    // A negative total also breaks "reserved <= total" (0 > -1); PostgreSQL names whichever
    // check it evaluates first, and either one means "not enough stock".
    let name = refused_by(oversold);
    assert!(
        [
            "inventory_total_non_negative",
            "inventory_reserved_within_total"
        ]
        .contains(&name.as_str()),
        "refused by {name}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_saga_reserves_each_stock_row_once(pool: PgPool) {
    let inventory_id = stock(&pool, 5).await;
    let (saga_id, checkout_id) = (Uuid::new_v4(), Uuid::new_v4());
    let reserve = || {
        sqlx::query(
            "INSERT INTO inventory_reservations (inventory_id, saga_id, checkout_id, quantity, expires_at)
             VALUES ($1, $2, $3, 1, now() + interval '15 minutes')",
        )
        .bind(inventory_id)
        .bind(saga_id)
        .bind(checkout_id)
        .execute(&pool)
    };
    reserve().await.expect("the first reservation is allowed");
    assert_eq!(
        refused_by(reserve().await),
        "inventory_reservations_saga_inventory_key"
    );
}

/// Reserves one unit of each stock row in one statement, as the durable writer does.
async fn reserve_rows(pool: &PgPool, rows: &[i64]) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO inventory_reservations (inventory_id, saga_id, checkout_id, quantity, expires_at)
         SELECT row_id, gen_random_uuid(), gen_random_uuid(), 1, now() + interval '15 minutes'
           FROM UNNEST($1::bigint[]) AS r(row_id)",
    )
    .bind(rows)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reservation_must_name_a_stock_row_that_exists(pool: PgPool) {
    let inventory_id = stock(&pool, 5).await;
    assert_eq!(
        reserve_rows(&pool, &[inventory_id, inventory_id])
            .await
            .unwrap(),
        2
    );
    // One unknown row among known ones refuses the whole statement.
    assert_eq!(
        refused_by(reserve_rows(&pool, &[inventory_id, inventory_id + 1000]).await),
        "inventory_reservations_stock_row"
    );
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM inventory_reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(written, 2, "the refused statement wrote nothing");
    assert_eq!(
        refused_by(
            sqlx::query("UPDATE inventory_reservations SET inventory_id = inventory_id + 1000")
                .execute(&pool)
                .await
        ),
        "inventory_reservations_stock_row"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_stock_row_with_reservations_cannot_be_deleted(pool: PgPool) {
    let reserved = stock(&pool, 5).await;
    reserve_rows(&pool, &[reserved]).await.unwrap();
    let delete = |row: i64| {
        sqlx::query("DELETE FROM inventory WHERE inventory_id = $1")
            .bind(row)
            .execute(&pool)
    };
    assert_eq!(
        refused_by(delete(reserved).await),
        "inventory_reservations_stock_row"
    );
    // A row nothing reserved goes as before.
    let unreserved: i64 = sqlx::query_scalar(
        "WITH w AS (INSERT INTO warehouses (code, name, country, latitude, longitude)
                    VALUES ('W2', 'Second', 'US', 0, 0) RETURNING warehouse_id)
         INSERT INTO inventory (product_id, warehouse_id, quantity_total)
         SELECT i.product_id, w.warehouse_id, 1 FROM inventory i, w WHERE i.inventory_id = $1
         RETURNING inventory_id",
    )
    .bind(reserved)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(delete(unreserved).await.unwrap().rows_affected(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_order_total_must_add_up(pool: PgPool) {
    let user_id = user(&pool, "buyer@example.test").await;
    let [subtotal, discount, tax, shipping, _] = GOOD_AMOUNTS;
    let off_by_a_cent = [subtotal, discount, tax, shipping, dec!(102.19)];
    let result = insert_order(&pool, user_id, "ES-1", "PENDING", off_by_a_cent).await;
    assert_eq!(refused_by(result), "orders_total_amount_check");

    insert_order(&pool, user_id, "ES-1", "PENDING", GOOD_AMOUNTS)
        .await
        .expect("a correct total is accepted");
}

#[sqlx::test(migrations = "../migrations")]
async fn order_money_is_never_negative(pool: PgPool) {
    let user_id = user(&pool, "buyer@example.test").await;
    // Adds up (100 - 0 - 1 + 0 = 99), but a negative tax is still refused.
    let amounts = [dec!(100.00), dec!(0), dec!(-1.00), dec!(0), dec!(99.00)];
    let result = insert_order(&pool, user_id, "ES-1", "PENDING", amounts).await;
    assert_eq!(refused_by(result), "orders_tax_amount_check");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_refund_cannot_exceed_the_payment(pool: PgPool) {
    let order_id = order(&pool, "ES-1").await;
    let payment_id = captured_payment(&pool, order_id, dec!(102.20)).await;
    refund(&pool, payment_id, order_id, dec!(100.00))
        .await
        .expect("a partial refund is allowed");

    let result = refund(&pool, payment_id, order_id, dec!(2.21)).await;
    assert_eq!(refused_by(result), "payments_refunded_amount_check");

    // The refused refund left nothing behind: the last cent-exact remainder still fits.
    refund(&pool, payment_id, order_id, dec!(2.20))
        .await
        .expect("refunding the remainder is allowed");
}

#[sqlx::test(migrations = "../migrations")]
async fn order_numbers_are_unique(pool: PgPool) {
    let user_id = user(&pool, "buyer@example.test").await;
    insert_order(&pool, user_id, "ES-1", "PENDING", GOOD_AMOUNTS)
        .await
        .unwrap();
    let result = insert_order(&pool, user_id, "ES-1", "PENDING", GOOD_AMOUNTS).await;
    assert_eq!(refused_by(result), "orders_order_number_key");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_order_status_must_be_a_known_one(pool: PgPool) {
    let user_id = user(&pool, "buyer@example.test").await;
    let result = insert_order(&pool, user_id, "ES-1", "SHIPPING", GOOD_AMOUNTS).await;
    assert_eq!(refused_by(result), "orders_status_check");

    let order_id = insert_order(&pool, user_id, "ES-2", "PENDING", GOOD_AMOUNTS)
        .await
        .unwrap();
    let result = sqlx::query("UPDATE orders SET status = 'confirmed' WHERE order_id = $1")
        .bind(order_id)
        .execute(&pool)
        .await;
    assert_eq!(refused_by(result), "orders_status_check");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_buyer_has_one_default_payment_method(pool: PgPool) {
    let user_id = user(&pool, "buyer@example.test").await;
    let add_default = |token: &'static str| {
        sqlx::query(
            "INSERT INTO payment_methods (user_id, method_type, payment_gateway, gateway_token, is_default)
             VALUES ($1, 'UPI', 'sandbox', $2, true)",
        )
        .bind(user_id)
        .bind(token)
        .execute(&pool)
    };
    add_default("tok_upi_1").await.unwrap();
    assert_eq!(
        refused_by(add_default("tok_upi_2").await),
        "payment_methods_default_key"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_coupon_is_redeemed_once_per_order(pool: PgPool) {
    let order_id = order(&pool, "ES-1").await;
    let coupon_id: i64 = sqlx::query_scalar(
        "INSERT INTO coupons (code, kind, value) VALUES ('SAVE10', 'PERCENT_OFF', 10) RETURNING coupon_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let redeem = || {
        sqlx::query(
            "INSERT INTO coupon_redemptions (coupon_id, user_id, order_id)
             SELECT $1, user_id, order_id FROM orders WHERE order_id = $2",
        )
        .bind(coupon_id)
        .bind(order_id)
        .execute(&pool)
    };
    redeem().await.unwrap();
    assert_eq!(
        refused_by(redeem().await),
        "coupon_redemptions_coupon_order_key"
    );
}

//! `carts` and `cart_items`: one row per cart and its lines, replaced by each newer snapshot.

use shared_model::api::carts::CartSnapshot;
use shared_model::cart::guest_cart_expires_at;
use shared_model::ids::CartId;
use sqlx::PgPool;

/// Stores the snapshot; answers false (and changes nothing) when a newer one is stored.
pub async fn save(db: &PgPool, cart_id: &CartId, snapshot: &CartSnapshot) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    // Guest carts expire 30 days after their last change; a buyer's never does.
    let expires_at = match snapshot.user_id {
        None => Some(guest_cart_expires_at(snapshot.updated_at)),
        Some(_) => None,
    };
    // The row lock taken here orders two snapshots of one cart arriving at once.
    let applied = sqlx::query_scalar::<_, String>(
        r#"INSERT INTO carts (cart_id, user_id, status, currency, expires_at, last_snapshot_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (cart_id) DO UPDATE
              SET user_id = EXCLUDED.user_id, status = EXCLUDED.status,
                  currency = EXCLUDED.currency, expires_at = EXCLUDED.expires_at,
                  last_snapshot_at = EXCLUDED.last_snapshot_at, updated_at = now()
            WHERE carts.last_snapshot_at < EXCLUDED.last_snapshot_at
           RETURNING cart_id"#,
    )
    .bind(cart_id.as_str())
    .bind(snapshot.user_id.map(|u| u.get()))
    .bind(snapshot.status.as_str())
    .bind(snapshot.currency.as_str())
    .bind(expires_at)
    .bind(snapshot.updated_at)
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if !applied {
        return Ok(false);
    }
    sqlx::query("DELETE FROM cart_items WHERE cart_id = $1")
        .bind(cart_id.as_str())
        .execute(&mut *tx)
        .await?;
    let (mut products, mut variants, mut quantities, mut prices) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for line in &snapshot.items {
        products.push(line.product_id.get());
        variants.push(line.variant_id.map(|v| v.get()));
        quantities.push(i32::try_from(line.quantity).unwrap_or(i32::MAX));
        prices.push(line.price_at_addition);
    }
    sqlx::query(
        r#"INSERT INTO cart_items (cart_id, product_id, variant_id, quantity, price_at_addition)
           SELECT $1, * FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::INT[], $5::NUMERIC[])"#,
    )
    .bind(cart_id.as_str())
    .bind(&products)
    .bind(&variants)
    .bind(&quantities)
    .bind(&prices)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

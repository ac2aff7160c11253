//! PostgreSQL: the sales, and the record of which checkout holds which purchase token.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::api::flash_sales::SaleSettings;
use shared_model::ids::{FlashSaleId, SagaId};
use sqlx::{PgConnection, PgPool};

use super::pool::HeldToken;

/// A sale with what the shop knows of its product.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SaleRow {
    pub flash_sale_id: i64,
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub product_name: String,
    pub regular_price: Decimal,
    pub currency: String,
    pub units: i32,
    pub sale_price: Decimal,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_buyer_limit: i32,
    pub admission_rate_per_minute: i32,
    pub max_active_buyers: i32,
    pub token_ttl_seconds: i32,
    pub status: String,
    pub prewarmed_at: Option<DateTime<Utc>>,
}

impl SaleRow {
    pub fn id(&self) -> FlashSaleId {
        FlashSaleId::new(self.flash_sale_id)
    }

    pub fn settings(&self) -> SaleSettings {
        SaleSettings {
            units: self.units.max(0) as u32,
            sale_price: self.sale_price,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            per_buyer_limit: self.per_buyer_limit.max(0) as u32,
            admission_rate_per_minute: self.admission_rate_per_minute.max(0) as u32,
            max_active_buyers: self.max_active_buyers.max(0) as u32,
            token_ttl_seconds: self.token_ttl_seconds.max(0) as u32,
        }
    }

    pub fn cancelled(&self) -> bool {
        self.status == "CANCELLED"
    }

    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.ends_at.is_some_and(|end| end <= now)
    }
}

const SELECT_SALE: &str = "
    SELECT s.flash_sale_id, s.product_id, s.variant_id,
           p.name || COALESCE(' · ' || v.name, '') AS product_name,
           p.base_price + COALESCE(v.price_modifier, 0) AS regular_price,
           p.currency::TEXT AS currency, s.units, s.sale_price, s.starts_at, s.ends_at,
           s.per_buyer_limit, s.admission_rate_per_minute, s.max_active_buyers,
           s.token_ttl_seconds, s.status, s.prewarmed_at
      FROM flash_sales s
      JOIN products p ON p.product_id = s.product_id
      LEFT JOIN product_variants v ON v.variant_id = s.variant_id";

/// The product (and variant) a sale may be created for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SaleItem {
    pub status: String,
    pub has_variants: bool,
    pub variant_ok: bool,
    pub regular_price: Decimal,
}

pub async fn sale_item(
    db: &PgPool,
    product: i64,
    variant: Option<i64>,
) -> sqlx::Result<Option<SaleItem>> {
    sqlx::query_as(
        "SELECT p.status,
                EXISTS (SELECT 1 FROM product_variants x
                         WHERE x.product_id = p.product_id AND x.is_active) AS has_variants,
                ($2::BIGINT IS NULL OR v.variant_id IS NOT NULL) AS variant_ok,
                p.base_price + COALESCE(v.price_modifier, 0) AS regular_price
           FROM products p
           LEFT JOIN product_variants v
             ON v.product_id = p.product_id AND v.variant_id = $2 AND v.is_active
          WHERE p.product_id = $1",
    )
    .bind(product)
    .bind(variant)
    .fetch_optional(db)
    .await
}

pub async fn insert(
    db: &PgPool,
    product: i64,
    variant: Option<i64>,
    settings: &SaleSettings,
) -> sqlx::Result<FlashSaleId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO flash_sales (product_id, variant_id, units, sale_price, starts_at, ends_at,
                                  per_buyer_limit, admission_rate_per_minute, max_active_buyers,
                                  token_ttl_seconds)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING flash_sale_id",
    )
    .bind(product)
    .bind(variant)
    .bind(settings.units as i32)
    .bind(settings.sale_price)
    .bind(settings.starts_at)
    .bind(settings.ends_at)
    .bind(settings.per_buyer_limit as i32)
    .bind(settings.admission_rate_per_minute as i32)
    .bind(settings.max_active_buyers as i32)
    .bind(settings.token_ttl_seconds as i32)
    .fetch_one(db)
    .await?;
    Ok(FlashSaleId::new(id))
}

pub async fn get(db: &PgPool, sale: FlashSaleId) -> sqlx::Result<Option<SaleRow>> {
    sqlx::query_as(&format!("{SELECT_SALE} WHERE s.flash_sale_id = $1"))
        .bind(sale.get())
        .fetch_optional(db)
        .await
}

/// Sales not cancelled and not over: the ones checkout and the jobs care about.
pub async fn current(db: &PgPool) -> sqlx::Result<Vec<SaleRow>> {
    sqlx::query_as(&format!(
        "{SELECT_SALE} WHERE s.status = 'SCHEDULED' AND (s.ends_at IS NULL OR s.ends_at > now())
          ORDER BY s.starts_at"
    ))
    .fetch_all(db)
    .await
}

pub async fn update(db: &PgPool, sale: FlashSaleId, settings: &SaleSettings) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE flash_sales
            SET units = $2, sale_price = $3, starts_at = $4, ends_at = $5, per_buyer_limit = $6,
                admission_rate_per_minute = $7, max_active_buyers = $8, token_ttl_seconds = $9,
                updated_at = now()
          WHERE flash_sale_id = $1",
    )
    .bind(sale.get())
    .bind(settings.units as i32)
    .bind(settings.sale_price)
    .bind(settings.starts_at)
    .bind(settings.ends_at)
    .bind(settings.per_buyer_limit as i32)
    .bind(settings.admission_rate_per_minute as i32)
    .bind(settings.max_active_buyers as i32)
    .bind(settings.token_ttl_seconds as i32)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn cancel(db: &PgPool, sale: FlashSaleId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE flash_sales SET status = 'CANCELLED', updated_at = now() WHERE flash_sale_id = $1",
    )
    .bind(sale.get())
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn mark_prewarmed(db: &PgPool, sale: FlashSaleId) -> sqlx::Result<()> {
    sqlx::query("UPDATE flash_sales SET prewarmed_at = now() WHERE flash_sale_id = $1")
        .bind(sale.get())
        .execute(db)
        .await
        .map(|_| ())
}

/// Units sold, and units held by checkouts still running.
pub async fn token_counts(db: &PgPool, sale: FlashSaleId) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'SOLD'),
                count(*) FILTER (WHERE status = 'CLAIMED')
           FROM flash_sale_tokens WHERE flash_sale_id = $1",
    )
    .bind(sale.get())
    .fetch_one(db)
    .await
}

/// The stock rows a sale's item is kept in, for pre-warming their counters.
pub async fn stock_rows(db: &PgPool, product: i64, variant: Option<i64>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT inventory_id FROM inventory
          WHERE product_id = $1 AND variant_id IS NOT DISTINCT FROM $2",
    )
    .bind(product)
    .bind(variant)
    .fetch_all(db)
    .await
}

/// Every held token of a sale, and the admissions of claims that ended without a sale.
pub async fn pool_record(
    db: &PgPool,
    sale: FlashSaleId,
) -> sqlx::Result<(Vec<HeldToken>, Vec<uuid::Uuid>)> {
    let rows: Vec<(i32, i64, uuid::Uuid, String, uuid::Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT token, user_id, admission_id, status, checkout_id, expires_at
           FROM flash_sale_tokens WHERE flash_sale_id = $1",
    )
    .bind(sale.get())
    .fetch_all(db)
    .await?;
    let mut held = Vec::new();
    let mut used = Vec::new();
    for (token, user, admission, status, checkout, expires_at) in rows {
        match status.as_str() {
            "CLAIMED" | "SOLD" => held.push(HeldToken {
                token,
                user,
                admission,
                checkout: (status == "CLAIMED").then_some(checkout),
                deadline_ms: expires_at.timestamp_millis(),
            }),
            _ => used.push(admission),
        }
    }
    Ok((held, used))
}

/// A claim as the checkout records it, in the checkout's transaction.
#[derive(Debug, Clone)]
pub struct ClaimRecord {
    pub sale: FlashSaleId,
    pub tokens: Vec<i32>,
    pub saga: SagaId,
    pub checkout: uuid::Uuid,
    pub user: i64,
    pub admission: uuid::Uuid,
    pub expires_at: DateTime<Utc>,
    pub per_buyer_limit: u32,
}

/// Why the record refused a claim Redis granted (Redis had lost part of the record).
#[derive(Debug, thiserror::Error)]
pub enum RecordRefused {
    #[error("a token is already held")]
    TokenHeld,
    #[error("the buyer already holds the sale's limit")]
    Limit,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Writes `claims` (one statement for all their tokens), then counts each of their buyers'
/// holdings again. Run in the checkouts' transaction: a refusal leaves it to be rolled back.
pub async fn record_claims(
    conn: &mut PgConnection,
    claims: &[&ClaimRecord],
) -> Result<(), RecordRefused> {
    let tokens = claims
        .iter()
        .flat_map(|c| c.tokens.iter().map(move |t| (*c, *t)));
    let (mut sales, mut numbers, mut sagas, mut checkouts, mut users, mut admissions, mut expiries) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (claim, token) in tokens {
        sales.push(claim.sale.get());
        numbers.push(token);
        sagas.push(claim.saga.0);
        checkouts.push(claim.checkout);
        users.push(claim.user);
        admissions.push(claim.admission);
        expiries.push(claim.expires_at);
    }
    let inserted = sqlx::query(
        "INSERT INTO flash_sale_tokens
                (flash_sale_id, token, saga_id, checkout_id, user_id, admission_id, expires_at)
         SELECT * FROM unnest($1::BIGINT[], $2::INT[], $3::UUID[], $4::UUID[], $5::BIGINT[],
                              $6::UUID[], $7::TIMESTAMPTZ[])",
    )
    .bind(&sales)
    .bind(&numbers)
    .bind(&sagas)
    .bind(&checkouts)
    .bind(&users)
    .bind(&admissions)
    .bind(&expiries)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(RecordRefused::TokenHeld);
        }
        other => other?,
    };
    // Each buyer once, with the sale's limit; two claims of one buyer in `claims` count both.
    let mut buyers: Vec<(i64, i64, i64)> = claims
        .iter()
        .map(|c| (c.sale.get(), c.user, i64::from(c.per_buyer_limit)))
        .collect();
    buyers.sort_unstable();
    buyers.dedup();
    let over_limit: bool = sqlx::query_scalar(
        "SELECT EXISTS (
            SELECT 1 FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS b (sale, buyer, max)
             WHERE (SELECT count(*) FROM flash_sale_tokens t
                     WHERE t.flash_sale_id = b.sale AND t.user_id = b.buyer
                       AND t.status IN ('CLAIMED', 'SOLD')) > b.max)",
    )
    .bind(buyers.iter().map(|b| b.0).collect::<Vec<_>>())
    .bind(buyers.iter().map(|b| b.1).collect::<Vec<_>>())
    .bind(buyers.iter().map(|b| b.2).collect::<Vec<_>>())
    .fetch_one(&mut *conn)
    .await?;
    if over_limit {
        return Err(RecordRefused::Limit);
    }
    Ok(())
}

/// A claim a saga's settlement moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SettledClaim {
    pub sale: FlashSaleId,
    pub checkout: uuid::Uuid,
    pub saga: SagaId,
}

/// Each claim a settlement moved, once.
pub type Settled = Vec<SettledClaim>;

/// Marks the claimed tokens of `sagas` SOLD.
pub async fn settle_sold(conn: &mut PgConnection, sagas: &[SagaId]) -> sqlx::Result<Settled> {
    settle(conn, sagas, "SOLD").await
}

/// Marks the claimed tokens of `sagas` RETURNED: their checkouts ended without a sale.
pub async fn settle_returned(conn: &mut PgConnection, sagas: &[SagaId]) -> sqlx::Result<Settled> {
    settle(conn, sagas, "RETURNED").await
}

async fn settle(conn: &mut PgConnection, sagas: &[SagaId], status: &str) -> sqlx::Result<Settled> {
    let sagas: Vec<uuid::Uuid> = sagas.iter().map(|saga| saga.0).collect();
    // Planned at every execution, not kept prepared: PostgreSQL moves a kept statement to a
    // generic plan after five runs, made for the table as it was then. A sale's claims grow
    // from none to thousands in a minute, long before autovacuum first analyzes them, and a
    // plan made for a handful walked a whole index of held tokens per settlement (2.5 ms at
    // 10,000 claims). Planned for the table as it is, it takes the claimed-by-saga index
    // (migration 0020).
    let rows: Vec<(i64, uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
        "UPDATE flash_sale_tokens SET status = $2, settled_at = now()
          WHERE saga_id = ANY($1) AND status = 'CLAIMED'
          RETURNING flash_sale_id, checkout_id, saga_id",
    )
    .persistent(false)
    .bind(&sagas)
    .bind(status)
    .fetch_all(&mut *conn)
    .await?;
    let mut settled: Settled = rows
        .into_iter()
        .map(|(sale, checkout, saga)| SettledClaim {
            sale: FlashSaleId::new(sale),
            checkout,
            saga: SagaId(saga),
        })
        .collect();
    settled.sort_unstable();
    settled.dedup();
    Ok(settled)
}

/// What the record says of a checkout's claim: `None` when it never reached the record.
pub async fn claim_status(db: &PgPool, checkout: uuid::Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT status FROM flash_sale_tokens WHERE checkout_id = $1
          ORDER BY created_at DESC LIMIT 1",
    )
    .bind(checkout)
    .fetch_optional(db)
    .await
}

//! Tax and shipping rates.

use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::error::ApiError;

/// Shipping where no rate is configured.
const FALLBACK_SHIPPING: Decimal = Decimal::from_parts(999, 0, 0, false, 2);

/// The state's rate if it has one, else the country's, else none.
pub async fn tax_rate(db: &PgPool, country: &str, state: &str) -> Result<Decimal, ApiError> {
    let rate: Option<Decimal> = sqlx::query_scalar(
        "SELECT rate FROM tax_rates WHERE country = $1 AND state IN ($2, '') ORDER BY state DESC LIMIT 1",
    )
    .bind(country)
    .bind(state)
    .fetch_optional(db)
    .await?;
    Ok(rate.unwrap_or(Decimal::ZERO))
}

/// (flat, free over) for the country.
pub async fn shipping_rule(
    db: &PgPool,
    country: &str,
) -> Result<(Decimal, Option<Decimal>), ApiError> {
    let rule: Option<(Decimal, Option<Decimal>)> =
        sqlx::query_as("SELECT flat, free_over FROM shipping_rates WHERE country = $1")
            .bind(country)
            .fetch_optional(db)
            .await?;
    Ok(rule.unwrap_or((FALLBACK_SHIPPING, None)))
}

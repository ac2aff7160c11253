//! Tax and shipping rates.

use rust_decimal::Decimal;

use crate::error::ApiError;

/// Shipping where no rate is configured.
const FALLBACK_SHIPPING: Decimal = Decimal::from_parts(999, 0, 0, false, 2);

/// The rates for one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    /// The state's tax rate if it has one, else the country's, else none.
    pub tax: Decimal,
    /// Flat shipping for the country.
    pub shipping_flat: Decimal,
    /// Orders from this subtotal ship free.
    pub free_shipping_over: Option<Decimal>,
}

/// Tax and shipping rates for `country`/`state`, in one query.
pub async fn rates(
    db: impl sqlx::PgExecutor<'_>,
    country: &str,
    state: &str,
) -> Result<Rates, ApiError> {
    let (tax, flat, free_over): (Option<Decimal>, Option<Decimal>, Option<Decimal>) =
        sqlx::query_as(
            "SELECT (SELECT rate FROM tax_rates WHERE country = $1 AND state IN ($2, '')
                      ORDER BY state DESC LIMIT 1),
                    s.flat, s.free_over
               FROM (SELECT 1) AS one LEFT JOIN shipping_rates s ON s.country = $1",
        )
        .bind(country)
        .bind(state)
        .fetch_one(db)
        .await?;
    Ok(Rates {
        tax: tax.unwrap_or(Decimal::ZERO),
        shipping_flat: flat.unwrap_or(FALLBACK_SHIPPING),
        free_shipping_over: flat.and(free_over),
    })
}

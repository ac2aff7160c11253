//! Flash sales: `POST /api/admin/flash-sales`, `PATCH /api/admin/flash-sales/{id}`,
//! `POST /api/admin/flash-sales/{id}/cancel` and `/prewarm`; `GET /api/flash-sales/{id}` (public
//! state) and `/admission` (the waiting room's cursor); `POST /api/flash-sales/{id}/queue` (a
//! buyer joins the waiting room).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::flash_sale::Place;
use crate::ids::{FlashSaleId, ProductId, VariantId};

pub const MAX_UNITS: u32 = 1_000_000;
pub const DEFAULT_PER_BUYER_LIMIT: u32 = 1;
pub const MAX_PER_BUYER_LIMIT: u32 = 100;
pub const DEFAULT_ADMISSION_RATE_PER_MINUTE: u32 = 1_000;
pub const MAX_ADMISSION_RATE_PER_MINUTE: u32 = 10_000_000;
/// Admitted buyers who have not checked out yet, at most, before admission waits for them.
pub const DEFAULT_MAX_ACTIVE_BUYERS: u32 = 1_000;
pub const MAX_MAX_ACTIVE_BUYERS: u32 = 1_000_000;
pub const DEFAULT_TOKEN_TTL_SECONDS: u32 = 300;
pub const MAX_TOKEN_TTL_SECONDS: u32 = 3_600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateFlashSale {
    pub product_id: ProductId,
    /// Required when the product has variants.
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    /// Units on sale: exactly this many purchase tokens exist.
    pub units: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "249.99"))]
    pub sale_price: Decimal,
    pub starts_at: DateTime<Utc>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub per_buyer_limit: Option<u32>,
    #[serde(default)]
    pub admission_rate_per_minute: Option<u32>,
    /// Admission waits while this many admitted buyers have not checked out yet (those
    /// admitted longer ago than the core's grace count as gone), so buyers beyond what the
    /// core can serve wait in the waiting room, not in checkout.
    #[serde(default)]
    pub max_active_buyers: Option<u32>,
    /// How long a buyer holds a claimed unit before it returns to the pool.
    #[serde(default)]
    pub purchase_token_ttl_seconds: Option<u32>,
}

/// Any subset of a sale's settings; units and the start move only before the sale starts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateFlashSale {
    #[serde(default)]
    pub units: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "229.99"))]
    pub sale_price: Option<Decimal>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub per_buyer_limit: Option<u32>,
    #[serde(default)]
    pub admission_rate_per_minute: Option<u32>,
    #[serde(default)]
    pub max_active_buyers: Option<u32>,
    #[serde(default)]
    pub purchase_token_ttl_seconds: Option<u32>,
}

/// The settings of a sale once defaults are applied and every rule is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleSettings {
    pub units: u32,
    pub sale_price: Decimal,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_buyer_limit: u32,
    pub admission_rate_per_minute: u32,
    pub max_active_buyers: u32,
    pub token_ttl_seconds: u32,
}

impl SaleSettings {
    pub fn from_create(request: &CreateFlashSale) -> Result<Self, ModelError> {
        let settings = SaleSettings {
            units: request.units,
            sale_price: request.sale_price,
            starts_at: request.starts_at,
            ends_at: request.ends_at,
            per_buyer_limit: request.per_buyer_limit.unwrap_or(DEFAULT_PER_BUYER_LIMIT),
            admission_rate_per_minute: request
                .admission_rate_per_minute
                .unwrap_or(DEFAULT_ADMISSION_RATE_PER_MINUTE),
            max_active_buyers: request
                .max_active_buyers
                .unwrap_or(DEFAULT_MAX_ACTIVE_BUYERS),
            token_ttl_seconds: request
                .purchase_token_ttl_seconds
                .unwrap_or(DEFAULT_TOKEN_TTL_SECONDS),
        };
        settings.check()?;
        Ok(settings)
    }

    /// These settings with `update` applied.
    pub fn updated(&self, update: &UpdateFlashSale) -> Result<Self, ModelError> {
        let settings = SaleSettings {
            units: update.units.unwrap_or(self.units),
            sale_price: update.sale_price.unwrap_or(self.sale_price),
            starts_at: update.starts_at.unwrap_or(self.starts_at),
            ends_at: update.ends_at.or(self.ends_at),
            per_buyer_limit: update.per_buyer_limit.unwrap_or(self.per_buyer_limit),
            admission_rate_per_minute: update
                .admission_rate_per_minute
                .unwrap_or(self.admission_rate_per_minute),
            max_active_buyers: update.max_active_buyers.unwrap_or(self.max_active_buyers),
            token_ttl_seconds: update
                .purchase_token_ttl_seconds
                .unwrap_or(self.token_ttl_seconds),
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ModelError> {
        if !(1..=MAX_UNITS).contains(&self.units) {
            return Err(ModelError::invalid(
                "units",
                format!("must be from 1 to {MAX_UNITS}"),
            ));
        }
        if self.sale_price.is_sign_negative() || self.sale_price.scale() > 2 {
            return Err(ModelError::invalid(
                "salePrice",
                "must be a non-negative amount with at most 2 decimals",
            ));
        }
        if self.ends_at.is_some_and(|end| end <= self.starts_at) {
            return Err(ModelError::invalid("endsAt", "must be after startsAt"));
        }
        if !(1..=MAX_PER_BUYER_LIMIT).contains(&self.per_buyer_limit) {
            return Err(ModelError::invalid(
                "perBuyerLimit",
                format!("must be from 1 to {MAX_PER_BUYER_LIMIT}"),
            ));
        }
        if !(1..=MAX_ADMISSION_RATE_PER_MINUTE).contains(&self.admission_rate_per_minute) {
            return Err(ModelError::invalid(
                "admissionRatePerMinute",
                format!("must be from 1 to {MAX_ADMISSION_RATE_PER_MINUTE}"),
            ));
        }
        if !(1..=MAX_MAX_ACTIVE_BUYERS).contains(&self.max_active_buyers) {
            return Err(ModelError::invalid(
                "maxActiveBuyers",
                format!("must be from 1 to {MAX_MAX_ACTIVE_BUYERS}"),
            ));
        }
        if !(1..=MAX_TOKEN_TTL_SECONDS).contains(&self.token_ttl_seconds) {
            return Err(ModelError::invalid(
                "purchaseTokenTtlSeconds",
                format!("must be from 1 to {MAX_TOKEN_TTL_SECONDS}"),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FlashSaleStatus {
    /// Before the start.
    Upcoming,
    /// Started, with units to sell.
    Live,
    /// Every unit is sold or held by a buyer who is paying.
    SoldOut,
    /// Past its end.
    Ended,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlashSaleView {
    pub flash_sale_id: FlashSaleId,
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub product_name: String,
    pub units: u32,
    /// Units no buyer holds: what the waiting room can still sell.
    pub units_left: u32,
    pub units_sold: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "249.99"))]
    pub sale_price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "499.99"))]
    pub regular_price: Decimal,
    pub currency: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub per_buyer_limit: u32,
    pub admission_rate_per_minute: u32,
    pub max_active_buyers: u32,
    pub purchase_token_ttl_seconds: u32,
    pub status: FlashSaleStatus,
    pub sold_out: bool,
    pub prewarmed_at: Option<DateTime<Utc>>,
}

/// `POST /api/flash-sales/{id}/queue`: the buyer's signed ticket (the same one on every call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueJoined {
    pub ticket: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub place: Place,
    pub starts_at: DateTime<Utc>,
}

/// Tickets the edge gave (`POST /api/flash-sales/{id}/queue/joins`), for the core to count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedJoins {
    /// Signed queue tickets of the sale.
    pub tickets: Vec<String>,
}

/// How many reported tickets were new to the queue (the others' buyers were counted before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinsRecorded {
    pub new: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn create() -> CreateFlashSale {
        CreateFlashSale {
            product_id: ProductId::new(1),
            variant_id: None,
            units: 10_000,
            sale_price: dec!(249.99),
            starts_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            ends_at: None,
            per_buyer_limit: None,
            admission_rate_per_minute: None,
            max_active_buyers: None,
            purchase_token_ttl_seconds: None,
        }
    }

    #[test]
    fn defaults_are_the_seeds() {
        let s = SaleSettings::from_create(&create()).unwrap();
        assert_eq!(
            (
                s.per_buyer_limit,
                s.admission_rate_per_minute,
                s.max_active_buyers,
                s.token_ttl_seconds
            ),
            (1, 1_000, 1_000, 300)
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        let field = |r: CreateFlashSale| match SaleSettings::from_create(&r) {
            Err(ModelError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(CreateFlashSale {
                units: 0,
                ..create()
            }),
            "units"
        );
        assert_eq!(
            field(CreateFlashSale {
                sale_price: dec!(-1),
                ..create()
            }),
            "salePrice"
        );
        assert_eq!(
            field(CreateFlashSale {
                sale_price: dec!(1.001),
                ..create()
            }),
            "salePrice"
        );
        let start = create().starts_at;
        assert_eq!(
            field(CreateFlashSale {
                ends_at: Some(start),
                ..create()
            }),
            "endsAt"
        );
        assert_eq!(
            field(CreateFlashSale {
                per_buyer_limit: Some(0),
                ..create()
            }),
            "perBuyerLimit"
        );
        assert_eq!(
            field(CreateFlashSale {
                max_active_buyers: Some(0),
                ..create()
            }),
            "maxActiveBuyers"
        );
        assert_eq!(
            field(CreateFlashSale {
                purchase_token_ttl_seconds: Some(0),
                ..create()
            }),
            "purchaseTokenTtlSeconds"
        );
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let s = SaleSettings::from_create(&create()).unwrap();
        let u = s
            .updated(&UpdateFlashSale {
                units: Some(5),
                ..UpdateFlashSale::default()
            })
            .unwrap();
        assert_eq!((u.units, u.sale_price), (5, dec!(249.99)));
        assert!(
            s.updated(&UpdateFlashSale {
                admission_rate_per_minute: Some(0),
                ..UpdateFlashSale::default()
            })
            .is_err()
        );
    }
}

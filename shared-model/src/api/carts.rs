//! `PUT /api/carts/{cartId}`: the edge's copy of a cart, sent to the core after each change
//! for backup and analytics (seed Part 5). The edge's key-value store stays the cart's home.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Currency;
use crate::ids::{ProductId, UserId, VariantId};

/// Where a cart is in its life, as the core records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CartSnapshotStatus {
    Active,
    /// A guest cart merged into a buyer's on sign-in.
    Merged,
}

impl CartSnapshotStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartSnapshotStatus::Active => "ACTIVE",
            CartSnapshotStatus::Merged => "MERGED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartSnapshot {
    /// `null` for a guest's cart.
    #[serde(default)]
    pub user_id: Option<UserId>,
    pub status: CartSnapshotStatus,
    pub currency: Currency,
    pub items: Vec<CartSnapshotLine>,
    /// The edge's time of the change; an older snapshot than the one stored is ignored.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartSnapshotLine {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "19.99"))]
    pub price_at_addition: Decimal,
}

/// What the core did with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartSnapshotAnswer {
    /// False when a newer snapshot of the cart was already stored.
    pub applied: bool,
}

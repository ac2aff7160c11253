//! `PUT /api/admin/inventory`: set the stock of one (product, variant, warehouse).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{InventoryId, ProductId, VariantId, WarehouseId};

/// Stock counts above this are a typo, not a warehouse.
pub const MAX_QUANTITY_TOTAL: i64 = 10_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryUpdate {
    pub product_id: ProductId,
    /// `null` for a product sold without variants.
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub warehouse_id: WarehouseId,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10_000_000))]
    pub quantity_total: i64,
    #[serde(default)]
    pub low_stock_threshold: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryView {
    pub inventory_id: InventoryId,
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub warehouse_id: WarehouseId,
    pub quantity_total: i32,
    pub quantity_reserved: i32,
    pub quantity_available: i32,
    pub low_stock_threshold: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseView {
    pub warehouse_id: WarehouseId,
    pub code: String,
    pub name: String,
    pub country: String,
    pub state: String,
    pub is_active: bool,
}

//! SQL for stock rows and warehouses.

use chrono::{DateTime, Utc};
use shared_model::api::inventory::{InventoryView, WarehouseView};
use shared_model::ids::{InventoryId, ProductId, VariantId, WarehouseId};
use sqlx::{PgConnection, PgPool};

use crate::error::ApiError;

#[derive(sqlx::FromRow)]
pub struct InventoryRow {
    inventory_id: i64,
    product_id: i64,
    variant_id: Option<i64>,
    warehouse_id: i64,
    quantity_total: i32,
    quantity_reserved: i32,
    quantity_available: i32,
    low_stock_threshold: i32,
    updated_at: DateTime<Utc>,
}

impl InventoryRow {
    pub fn id(&self) -> InventoryId {
        InventoryId::new(self.inventory_id)
    }

    pub fn view(&self) -> InventoryView {
        InventoryView {
            inventory_id: InventoryId::new(self.inventory_id),
            product_id: ProductId::new(self.product_id),
            variant_id: self.variant_id.map(VariantId::new),
            warehouse_id: WarehouseId::new(self.warehouse_id),
            quantity_total: self.quantity_total,
            quantity_reserved: self.quantity_reserved,
            quantity_available: self.quantity_available,
            low_stock_threshold: self.low_stock_threshold,
            updated_at: self.updated_at,
        }
    }
}

/// Whether a product exists, and whether it is sold by variant (then stock is per variant).
pub async fn product_shape(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<Option<ProductShape>, ApiError> {
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.product_id)
           FROM products p WHERE p.product_id = $1 FOR SHARE",
    )
    .bind(product.get())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(has_variants,)| ProductShape { has_variants }))
}

pub struct ProductShape {
    pub has_variants: bool,
}

/// Sets a row's total (creating the row on first use). The database refuses a total below
/// what buyers have already reserved.
pub async fn set_total(
    conn: &mut PgConnection,
    product: ProductId,
    variant: Option<VariantId>,
    warehouse: WarehouseId,
    quantity_total: i32,
    low_stock_threshold: Option<i32>,
) -> Result<InventoryRow, ApiError> {
    Ok(sqlx::query_as(
        "INSERT INTO inventory (product_id, variant_id, warehouse_id, quantity_total, low_stock_threshold)
         VALUES ($1, $2, $3, $4, COALESCE($5, 10))
         ON CONFLICT (product_id, variant_id, warehouse_id) DO UPDATE
            SET quantity_total = EXCLUDED.quantity_total,
                low_stock_threshold = COALESCE($5, inventory.low_stock_threshold),
                version = inventory.version + 1,
                updated_at = now()
         RETURNING inventory_id, product_id, variant_id, warehouse_id, quantity_total,
                   quantity_reserved, quantity_available, low_stock_threshold, updated_at",
    )
    .bind(product.get())
    .bind(variant.map(VariantId::get))
    .bind(warehouse.get())
    .bind(quantity_total)
    .bind(low_stock_threshold)
    .fetch_one(conn)
    .await?)
}

/// Bumps the product's version: its cached detail (stock badge included) is now stale.
pub async fn touch_product(conn: &mut PgConnection, product: ProductId) -> Result<i64, ApiError> {
    Ok(sqlx::query_scalar(
        "UPDATE products SET version = version + 1, updated_at = now() WHERE product_id = $1 RETURNING version",
    )
    .bind(product.get())
    .fetch_one(conn)
    .await?)
}

pub async fn warehouses(db: &PgPool) -> Result<Vec<WarehouseView>, ApiError> {
    let rows: Vec<(i64, String, String, String, String, bool)> = sqlx::query_as(
        "SELECT warehouse_id, code, name, country, state, is_active FROM warehouses ORDER BY warehouse_id",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, code, name, country, state, is_active)| WarehouseView {
                warehouse_id: WarehouseId::new(id),
                code,
                name,
                country,
                state,
                is_active,
            },
        )
        .collect())
}

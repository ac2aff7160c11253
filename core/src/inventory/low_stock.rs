//! Low-stock alerts (seed: threshold 10 by default): when a reservation takes a stock row from
//! above its threshold to at or below it, an INVENTORY_LOW_STOCK event is written in the same
//! transaction, once per crossing rather than once per buyer after it.

use shared_model::events::InventoryLowStock;
use shared_model::ids::{ProductId, VariantId, WarehouseId};
use sqlx::PgConnection;

use crate::outbox;

/// A stock row a write changed: its figures after the write and how many units it took.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Touched {
    pub inventory_id: i64,
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub warehouse_id: i64,
    pub quantity_available: i32,
    pub low_stock_threshold: i32,
    pub taken: i32,
}

impl Touched {
    /// Whether this write is the one that crossed the threshold.
    pub fn crossed(&self) -> bool {
        self.quantity_available <= self.low_stock_threshold
            && self.quantity_available + self.taken > self.low_stock_threshold
    }
}

pub async fn announce(conn: &mut PgConnection, touched: &[Touched]) -> Result<(), sqlx::Error> {
    for row in touched.iter().filter(|t| t.crossed()) {
        let event = InventoryLowStock {
            product_id: ProductId::new(row.product_id),
            variant_id: row.variant_id.map(VariantId::new),
            warehouse_id: WarehouseId::new(row.warehouse_id),
            quantity_available: row.quantity_available.max(0) as u32,
            threshold: row.low_stock_threshold.max(0) as u32,
        };
        outbox::enqueue(conn, &outbox::envelope(event, None, "inventory"))
            .await
            .map_err(|e| match e {
                crate::error::ApiError::Database(err) => err,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
        metrics::counter!("inventory_low_stock_total").increment(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touched(available: i32, taken: i32) -> Touched {
        Touched {
            inventory_id: 1,
            product_id: 1,
            variant_id: None,
            warehouse_id: 1,
            quantity_available: available,
            low_stock_threshold: 10,
            taken,
        }
    }

    #[test]
    fn only_the_write_that_crosses_the_threshold_announces_it() {
        assert!(touched(10, 1).crossed());
        assert!(touched(5, 20).crossed());
        assert!(!touched(11, 1).crossed(), "still above");
        assert!(!touched(9, 1).crossed(), "already below before");
    }
}

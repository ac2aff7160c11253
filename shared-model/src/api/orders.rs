//! Orders: `GET /api/orders`, `GET /api/orders/{id}`, `POST /api/orders/{id}/cancel` and the
//! seller's `GET /api/seller/orders`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Currency;
use crate::ids::{OrderId, PaymentId, ProductId, SellerId, VariantId, WarehouseId};
use crate::order::{OrderNumber, OrderStatus, PaymentStatus};

/// Most orders one page of a listing holds.
pub const MAX_ORDERS_PAGE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "223.97"))]
    pub total: Decimal,
    pub currency: Currency,
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
}

/// A page of orders, newest first; pass `nextCursor` back as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderList {
    pub orders: Vec<OrderSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItemView {
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub seller_id: SellerId,
    pub warehouse_id: Option<WarehouseId>,
    pub name: String,
    pub sku: String,
    pub quantity: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub unit_price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub total: Decimal,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentView {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub amount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub refunded_amount: Decimal,
    pub payment_method: String,
    pub failure_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDetail {
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subtotal: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tax: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub shipping: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub total: Decimal,
    pub currency: Currency,
    pub items: Vec<OrderItemView>,
    pub payments: Vec<PaymentView>,
    pub history: Vec<StatusChange>,
    /// The address as it was when the order was placed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub shipping_address: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelOrderRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One of a seller's order lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerOrderLine {
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub order_status: OrderStatus,
    pub item: OrderItemView,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SellerOrderList {
    pub lines: Vec<SellerOrderLine>,
    pub next_cursor: Option<String>,
}

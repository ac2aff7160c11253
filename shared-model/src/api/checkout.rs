//! Checkout: `POST /api/checkout/initiate`, `POST /api/checkout/{id}/pay` and
//! `GET /api/checkout/{id}` (seed 2.2). The client names what it wants and what it was shown;
//! every price is decided by the core.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Currency;
use crate::ids::{AddressId, CartId, CheckoutId, OrderId, ProductId, VariantId};
use crate::order::{CheckoutStatus, OrderNumber, OrderStatus, PaymentStatus};
use crate::pricing::PriceChange;

/// Most lines one checkout may hold.
pub const MAX_CHECKOUT_LINES: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutItemRequest {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
    /// The unit price the buyer saw when adding the line; a rise above 5 % needs
    /// re-confirmation (`acceptPriceChanges`). Never charged as such.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "99.99"))]
    pub price_at_addition: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InitiateCheckoutRequest {
    /// The edge's cart the lines come from (recorded with the reservation).
    #[serde(default)]
    pub cart_id: Option<CartId>,
    pub items: Vec<CheckoutItemRequest>,
    pub shipping_address_id: AddressId,
    /// Defaults to the shipping address.
    #[serde(default)]
    pub billing_address_id: Option<AddressId>,
    /// The buyer has seen the new prices and accepts them.
    #[serde(default)]
    pub accept_price_changes: bool,
    /// The waiting room's admission, required when a line is on a live flash sale.
    #[serde(default)]
    pub admission_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutLine {
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub name: String,
    pub sku: String,
    pub quantity: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub unit_price: Decimal,
    /// After this line's share of discounts.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub line_total: Decimal,
}

/// A line whose price moved since the buyer added it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceChangeNotice {
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub previous: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "109.99"))]
    pub current: Decimal,
    pub change: PriceChange,
}

/// A line there is not enough stock for (in a 409 `out_of_stock` error's `details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShortItem {
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub requested: u32,
    pub available: u32,
}

/// The last payment attempt of a checkout, when there was one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentAttempt {
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
    /// The buyer may try again with another card.
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutView {
    pub checkout_id: CheckoutId,
    pub status: CheckoutStatus,
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub items: Vec<CheckoutLine>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subtotal: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub shipping: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tax: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub total: Decimal,
    pub currency: Currency,
    /// The reservation (and the price lock) lasts until then.
    pub expires_at: DateTime<Utc>,
    /// The countdown: seconds until `expiresAt`, 0 once passed.
    pub seconds_remaining: i64,
    pub available_payment_methods: Vec<PaymentMethod>,
    /// Lines whose price moved since the buyer added them (rises within 5 %, and drops).
    #[serde(default)]
    pub price_changes: Vec<PriceChangeNotice>,
    pub last_payment: Option<PaymentAttempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentMethod {
    Card,
    Paypal,
    Upi,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 3] = [
        PaymentMethod::Card,
        PaymentMethod::Paypal,
        PaymentMethod::Upi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "CARD",
            PaymentMethod::Paypal => "PAYPAL",
            PaymentMethod::Upi => "UPI",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayRequest {
    pub payment_method: PaymentMethod,
    /// The gateway's token for the card (`tok_visa` in the sandbox).
    pub payment_token: String,
    /// The same as the `Idempotency-Key` header, for clients that cannot set headers.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayResponse {
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "223.97"))]
    pub total: Decimal,
    pub currency: Currency,
    /// The cart the checkout's lines came from; none for a checkout of lines sent directly
    /// (a flash sale's buy-now). The edge takes paid lines out of that cart, and needs to
    /// look for them only when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<CartId>,
}

//! Pricing: turns a checkout's lines into the amounts charged, through the shared pipeline
//! (base → dynamic → sale → coupon → member → tax and shipping). The rules live in
//! `shared_model::pricing`; this context only reads the rates that feed them.

pub mod store;

use rust_decimal::Decimal;
use shared_model::Currency;
use shared_model::pricing::{
    PriceBreakdown, PriceLineInput, PricingRequest, ShippingRule, TaxRule, price,
};

use crate::error::ApiError;

/// A line to price: the product's base price plus the variant's modifier, and its sale price.
pub struct LineToPrice {
    pub key: String,
    pub unit_base_price: Decimal,
    pub sale_price: Option<Decimal>,
    pub quantity: u32,
}

/// Prices lines at the rates of their destination ([`store::rates`], which a checkout reads
/// with its other reads).
pub fn quote(
    rates: &store::Rates,
    currency: Currency,
    lines: Vec<LineToPrice>,
) -> Result<PriceBreakdown, ApiError> {
    let request = PricingRequest {
        currency,
        lines: lines
            .into_iter()
            .map(|l| PriceLineInput {
                key: l.key,
                unit_base_price: l.unit_base_price,
                dynamic: None,
                sale_price: l.sale_price,
                quantity: l.quantity,
            })
            .collect(),
        coupon: None,
        member_discount_percent: None,
        tax: TaxRule {
            rate: rates.tax,
            shipping_taxable: false,
        },
        shipping: ShippingRule {
            flat: rates.shipping_flat,
            free_over: rates.free_shipping_over,
        },
    };
    Ok(price(&request)?)
}

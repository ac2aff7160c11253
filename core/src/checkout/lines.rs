//! A checkout's lines: what the buyer asked for (checked without the database), then checked
//! against the catalog, and the prices that moved since the buyer saw them.

use rust_decimal::Decimal;
use shared_model::ModelError;
use shared_model::api::checkout::{InitiateCheckoutRequest, MAX_CHECKOUT_LINES, PriceChangeNotice};
use shared_model::ids::{ProductId, VariantId};
use shared_model::pricing::{PricedLine, price_change};

use super::store::{self, Purchasable};
use crate::error::{ApiError, ApiResult};

/// A line as asked for: repeated lines of one product and variant merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub quantity: u32,
    pub seen_price: Option<Decimal>,
}

/// A line checked against the catalog: what is bought and at which list prices.
pub struct Line {
    pub product: Purchasable,
    pub quantity: u32,
    pub seen_price: Option<Decimal>,
}

impl Line {
    pub fn product_id(&self) -> ProductId {
        ProductId::new(self.product.product_id)
    }

    pub fn variant_id(&self) -> Option<VariantId> {
        self.product.variant_id.map(VariantId::new)
    }
}

/// The request's lines, merged, or why they cannot be a checkout: at least one, at most
/// [`MAX_CHECKOUT_LINES`], none of quantity 0.
pub fn wanted(request: &InitiateCheckoutRequest) -> ApiResult<Vec<Wanted>> {
    if request.items.is_empty() {
        return Err(ModelError::invalid("items", "a checkout needs at least one item").into());
    }
    if request.items.len() > MAX_CHECKOUT_LINES {
        return Err(
            ModelError::invalid("items", format!("at most {MAX_CHECKOUT_LINES} lines")).into(),
        );
    }
    let mut merged: Vec<Wanted> = Vec::new();
    for (i, item) in request.items.iter().enumerate() {
        if item.quantity == 0 {
            return Err(
                ModelError::invalid(format!("items[{i}].quantity"), "must be at least 1").into(),
            );
        }
        match merged
            .iter_mut()
            .find(|w| w.product == item.product_id && w.variant == item.variant_id)
        {
            Some(existing) => existing.quantity = existing.quantity.saturating_add(item.quantity),
            None => merged.push(Wanted {
                product: item.product_id,
                variant: item.variant_id,
                quantity: item.quantity,
                seen_price: item.price_at_addition,
            }),
        }
    }
    Ok(merged)
}

/// Checks every line against the catalog: known, on sale, variant valid, within the cap.
pub async fn in_catalog(conn: &mut sqlx::PgConnection, wanted: &[Wanted]) -> ApiResult<Vec<Line>> {
    let keys: Vec<(ProductId, Option<VariantId>)> =
        wanted.iter().map(|w| (w.product, w.variant)).collect();
    let found = store::purchasables(conn, &keys).await?;
    wanted
        .iter()
        .map(|w| {
            let product = found
                .iter()
                .find(|f| {
                    f.product_id == w.product.get() && f.variant_id == w.variant.map(VariantId::get)
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::unprocessable("unknown_product", format!("no product {}", w.product))
                })?;
            if product.status != "ACTIVE" {
                return Err(ApiError::unprocessable(
                    "product_unavailable",
                    format!("{} is not for sale", product.name),
                ));
            }
            if !product.variant_ok || (product.has_variants && w.variant.is_none()) {
                return Err(ApiError::unprocessable(
                    "unknown_variant",
                    format!("{} needs a valid variantId", product.name),
                ));
            }
            let cap = u32::try_from(product.max_quantity_per_order).unwrap_or(1);
            if w.quantity > cap {
                return Err(ModelError::invalid(
                    "items",
                    format!("at most {cap} of {} per order", product.name),
                )
                .into());
            }
            Ok(Line {
                product,
                quantity: w.quantity,
                seen_price: w.seen_price,
            })
        })
        .collect()
}

/// Lines whose unit price moved since the buyer saw it.
pub fn price_notices(lines: &[Line], priced: &[PricedLine]) -> Vec<PriceChangeNotice> {
    lines
        .iter()
        .zip(priced)
        .filter_map(|(line, priced)| {
            let previous = line.seen_price?;
            let change = price_change(previous, priced.unit_price);
            change.is_changed().then(|| PriceChangeNotice {
                product_id: line.product_id(),
                variant_id: line.variant_id(),
                previous,
                current: priced.unit_price,
                change,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(items: serde_json::Value) -> InitiateCheckoutRequest {
        serde_json::from_value(json!({"items": items, "shippingAddressId": "1"})).unwrap()
    }

    #[test]
    fn repeated_lines_of_one_item_are_merged() {
        let merged = wanted(&request(json!([
            {"productId": "7", "quantity": 1, "priceAtAddition": "5.00"},
            {"productId": "8", "variantId": "3", "quantity": 2},
            {"productId": "7", "quantity": 2},
        ])))
        .unwrap();
        assert_eq!(
            merged,
            vec![
                Wanted {
                    product: ProductId::new(7),
                    variant: None,
                    quantity: 3,
                    seen_price: Some(Decimal::new(500, 2)),
                },
                Wanted {
                    product: ProductId::new(8),
                    variant: Some(VariantId::new(3)),
                    quantity: 2,
                    seen_price: None,
                },
            ]
        );
    }

    #[test]
    fn an_empty_a_zero_or_an_overlong_checkout_is_refused() {
        let too_many: Vec<_> = (1..=MAX_CHECKOUT_LINES + 1)
            .map(|p| json!({"productId": p.to_string(), "quantity": 1}))
            .collect();
        for items in [
            json!([]),
            json!([{"productId": "7", "quantity": 0}]),
            json!(too_many),
        ] {
            assert!(wanted(&request(items)).is_err());
        }
    }
}

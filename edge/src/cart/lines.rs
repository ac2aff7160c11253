//! A cart line checked against the product data the edge holds: the product exists and is for
//! sale, the variant is one of its own (and given when it has variants), and the price is the
//! catalog's, never the client's.

use shared_model::Money;
use shared_model::api::catalog::ProductDetail;
use shared_model::cart::{LineAvailability, QuantityCap};
use shared_model::catalog::ProductStatus;
use shared_model::ids::VariantId;

use crate::error::EdgeError;

/// What a buyer may put in the cart of this product and variant, and at what price.
pub fn purchasable(
    product: &ProductDetail,
    variant: Option<VariantId>,
) -> Result<(QuantityCap, Money), EdgeError> {
    if product.status != ProductStatus::Active {
        return Err(EdgeError::invalid(
            "productId",
            "this product is not for sale",
        ));
    }
    let cap = QuantityCap::try_from(product.max_quantity_per_order)?;
    let base = product.sale_price.unwrap_or(product.price);
    let amount = match (variant, product.variants.is_empty()) {
        (None, true) => base,
        (None, false) => {
            return Err(EdgeError::invalid(
                "variantId",
                "choose one of the product's variants",
            ));
        }
        (Some(_), true) => {
            return Err(EdgeError::invalid(
                "variantId",
                "this product has no variants",
            ));
        }
        (Some(id), false) => {
            product
                .variants
                .iter()
                .find(|v| v.variant_id == id)
                .ok_or_else(|| EdgeError::invalid("variantId", "not a variant of this product"))?
                .price
        }
    };
    Ok((cap, Money::new(amount, product.currency)))
}

/// The line as the cart view and the merge see it today.
pub fn availability(
    product: Option<&ProductDetail>,
    variant: Option<VariantId>,
) -> LineAvailability {
    match product.map(|p| purchasable(p, variant)) {
        Some(Ok((cap, current_price))) => LineAvailability::Available { cap, current_price },
        _ => LineAvailability::Unavailable,
    }
}

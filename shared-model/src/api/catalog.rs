//! Catalog wire types: the listing of seed 2.2, product detail, and product input.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::catalog::{
    Attributes, MAX_IMAGES, MAX_VARIANTS, ProductStatus, Sku, ValidImage, ValidProduct,
    ValidVariant, required_text, validate_attributes, validate_image_url, validate_price_modifier,
};
use crate::ids::{CategoryId, ImageId, ProductId, ReviewId, SellerId, VariantId};
use crate::money::{Currency, parse_amount};

/// One product in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductSummary {
    pub product_id: ProductId,
    pub name: String,
    pub brand: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "999.00"))]
    pub price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "949.00"))]
    pub sale_price: Option<Decimal>,
    pub currency: Currency,
    pub image_url: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "4.50"))]
    pub rating: Decimal,
    pub review_count: i32,
    pub in_stock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pagination {
    /// Zero-based.
    pub page: u32,
    pub size: u32,
    pub total: i64,
    pub total_pages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrandFacet {
    pub name: String,
    pub count: i64,
}

/// A price bucket: `min` inclusive, `max` exclusive, either may be open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceRangeFacet {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "500"))]
    pub min: Option<Decimal>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1000"))]
    pub max: Option<Decimal>,
    pub count: i64,
}

/// "4★ & up": products rated at least `minRating`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingFacet {
    pub min_rating: u8,
    pub count: i64,
}

/// Counts over every product that matches the filters (not just the page shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    /// The 20 most common brands.
    pub brands: Vec<BrandFacet>,
    pub price_ranges: Vec<PriceRangeFacet>,
    pub ratings: Vec<RatingFacet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductList {
    pub products: Vec<ProductSummary>,
    pub pagination: Pagination,
    pub facets: Facets,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantView {
    pub variant_id: VariantId,
    pub sku: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.00"))]
    pub price_modifier: Decimal,
    /// The variant's own price: the product's effective price plus the modifier.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "1099.00"))]
    pub price: Decimal,
    pub attributes: Attributes,
    pub in_stock: bool,
}

/// `GET /api/products/{id}/variants`: the variants with live availability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantList {
    pub product_id: ProductId,
    pub variants: Vec<VariantView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageView {
    pub image_id: ImageId,
    pub url: String,
    pub alt_text: String,
    pub is_primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub review_id: ReviewId,
    pub rating: i16,
    pub title: String,
    pub body: String,
    /// First name and initial: reviews never expose a reviewer's full identity.
    pub author: String,
    pub verified_purchase: bool,
    pub helpful_count: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "4.50"))]
    pub average: Decimal,
    pub count: i32,
    /// Published reviews per star, keyed "1" to "5".
    pub histogram: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductDetail {
    pub product_id: ProductId,
    pub seller_id: SellerId,
    pub category_id: CategoryId,
    pub name: String,
    pub brand: String,
    pub description: String,
    pub sku: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "999.00"))]
    pub price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "949.00"))]
    pub sale_price: Option<Decimal>,
    pub currency: Currency,
    pub status: ProductStatus,
    pub attributes: Attributes,
    pub max_quantity_per_order: i32,
    pub in_stock: bool,
    pub rating_summary: RatingSummary,
    pub variants: Vec<VariantView>,
    pub images: Vec<ImageView>,
    /// The most recent published reviews.
    pub reviews: Vec<ReviewView>,
    /// Bumped on every edit: caches key product data on it.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantInput {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "100.00"))]
    pub price_modifier: Decimal,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageInput {
    #[cfg_attr(feature = "openapi", schema(example = "/images/products/42/1.svg?v=1"))]
    pub url: String,
    #[serde(default)]
    pub alt_text: String,
}

/// A product as a seller or admin sends it (create and full replace alike).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductInput {
    pub name: String,
    pub brand: String,
    #[serde(default)]
    pub description: String,
    pub category_id: CategoryId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "999.00"))]
    pub base_price: Decimal,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "949.00"))]
    pub sale_price: Option<Decimal>,
    pub currency: Currency,
    pub sku: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub variants: Vec<VariantInput>,
    #[serde(default)]
    pub images: Vec<ImageInput>,
    /// Defaults to ACTIVE.
    #[serde(default)]
    pub status: Option<ProductStatus>,
    /// The per-line cap of a cart (default 10).
    #[serde(default)]
    pub max_quantity_per_order: Option<i32>,
    /// Admins may list a product for a seller; sellers always list their own.
    #[serde(default)]
    pub seller_id: Option<SellerId>,
}

impl ProductInput {
    /// Parses the input into a product that satisfies every catalog rule.
    pub fn validate(&self) -> Result<ValidProduct, ModelError> {
        let currency = self.currency;
        let base_price = parse_amount("basePrice", self.base_price, currency)?;
        let sale_price = self
            .sale_price
            .map(|p| parse_amount("salePrice", p, currency))
            .transpose()?;
        if sale_price.is_some_and(|s| s > base_price) {
            return Err(ModelError::invalid(
                "salePrice",
                "must not be above basePrice",
            ));
        }
        let description = self.description.trim().to_owned();
        if description.chars().count() > 20_000 {
            return Err(ModelError::invalid(
                "description",
                "must be at most 20000 characters",
            ));
        }
        validate_attributes("attributes", &self.attributes)?;
        let max_quantity_per_order = match self.max_quantity_per_order {
            None => crate::cart::DEFAULT_MAX_QUANTITY_PER_LINE as i32,
            Some(q @ 1..=100) => q,
            Some(_) => {
                return Err(ModelError::invalid(
                    "maxQuantityPerOrder",
                    "must be from 1 to 100",
                ));
            }
        };
        let sku = Sku::parse("sku", &self.sku)?;
        if self.variants.len() > MAX_VARIANTS {
            return Err(ModelError::invalid(
                "variants",
                format!("at most {MAX_VARIANTS} variants"),
            ));
        }
        let mut seen = HashSet::from([sku.clone()]);
        let variants = self
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let field = |name: &str| format!("variants[{i}].{name}");
                let sku = Sku::parse(&field("sku"), &v.sku)?;
                if !seen.insert(sku.clone()) {
                    return Err(ModelError::invalid(
                        field("sku"),
                        "is used twice in this product",
                    ));
                }
                validate_attributes(&field("attributes"), &v.attributes)?;
                Ok(ValidVariant {
                    sku,
                    name: required_text(&field("name"), &v.name, 255)?,
                    price_modifier: validate_price_modifier(
                        &field("priceModifier"),
                        sale_price.unwrap_or(base_price).min(base_price),
                        v.price_modifier,
                        currency,
                    )?,
                    attributes: v.attributes.clone(),
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        if self.images.len() > MAX_IMAGES {
            return Err(ModelError::invalid(
                "images",
                format!("at most {MAX_IMAGES} images"),
            ));
        }
        let images = self
            .images
            .iter()
            .enumerate()
            .map(|(i, img)| {
                validate_image_url(&format!("images[{i}].url"), &img.url)?;
                let alt = img.alt_text.trim();
                if alt.chars().count() > 255 {
                    return Err(ModelError::invalid(
                        format!("images[{i}].altText"),
                        "must be at most 255 characters",
                    ));
                }
                Ok(ValidImage {
                    url: img.url.clone(),
                    alt_text: alt.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(ValidProduct {
            seller_id: self.seller_id,
            category_id: self.category_id,
            name: required_text("name", &self.name, 500)?,
            brand: required_text("brand", &self.brand, 255)?,
            description,
            sku,
            base_price,
            sale_price,
            currency,
            status: self.status.unwrap_or(ProductStatus::Active),
            attributes: self.attributes.clone(),
            max_quantity_per_order,
            variants,
            images,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> serde_json::Value {
        serde_json::json!({
            "name": "iPhone 15 Pro", "brand": "Apple", "categoryId": "3",
            "basePrice": "999.00", "salePrice": "949.00", "currency": "USD", "sku": "iphone15pro",
            "variants": [{"sku": "IPHONE15PRO-128-BLU", "name": "128 GB, Blue", "priceModifier": "0",
                          "attributes": {"storage": "128 GB", "color": "Blue"}}],
            "images": [{"url": "/images/products/1/1.svg?v=1"}]
        })
    }

    fn parse(v: serde_json::Value) -> Result<ValidProduct, String> {
        serde_json::from_value::<ProductInput>(v)
            .map_err(|e| e.to_string())?
            .validate()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_well_formed_product_validates() {
        let p = parse(input()).unwrap();
        assert_eq!(p.sku.as_str(), "IPHONE15PRO");
        assert_eq!(p.variants.len(), 1);
        assert_eq!(p.max_quantity_per_order, 10);
    }

    #[test]
    fn bad_products_are_refused_with_the_field_named() {
        let cases: [(&str, serde_json::Value); 9] = [
            ("basePrice", serde_json::json!("-1.00")),
            ("basePrice", serde_json::json!("1.001")),
            ("basePrice", serde_json::json!("99999999999")),
            ("salePrice", serde_json::json!("1000.00")),
            ("name", serde_json::json!("   ")),
            ("currency", serde_json::json!("usd")),
            ("maxQuantityPerOrder", serde_json::json!(0)),
            ("basePrice", serde_json::json!(999.0)),
            ("sku", serde_json::json!("bad sku")),
        ];
        for (field, value) in cases {
            let mut v = input();
            v[field] = value.clone();
            assert!(parse(v).is_err(), "{field}={value} accepted");
        }
        let mut v = input();
        v["salePrise"] = serde_json::json!("1.00");
        assert!(parse(v).unwrap_err().contains("unknown field"));
        let mut v = input();
        v["variants"][0]["sku"] = serde_json::json!("iphone15pro");
        assert!(parse(v).unwrap_err().contains("used twice"));
    }
}

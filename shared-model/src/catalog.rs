//! Catalog rules: product status, SKUs, attributes, the category tree, listing filters and
//! the facet buckets of seed 4.3. Inputs from sellers and admins are parsed here once, so the
//! core stores only values that already obey the database's constraints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::ids::{CategoryId, SellerId};
use crate::money::{Currency, MAX_AMOUNT, parse_amount};

/// Listings are paged at most this deep (page × size), like a search engine's result window:
/// deeper pages are a crawler, not a shopper.
pub const MAX_RESULT_WINDOW: u64 = 10_000;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const MAX_VARIANTS: usize = 100;
pub const MAX_IMAGES: usize = 20;
pub const MAX_ATTRIBUTES: usize = 30;

/// Whether a product can be seen and bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProductStatus {
    Active,
    /// Hidden from the storefront and not purchasable.
    Inactive,
    /// Listed but not purchasable until restocked.
    OutOfStock,
}

impl ProductStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Inactive => "INACTIVE",
            ProductStatus::OutOfStock => "OUT_OF_STOCK",
        }
    }
}

impl FromStr for ProductStatus {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ACTIVE" => Ok(ProductStatus::Active),
            "INACTIVE" => Ok(ProductStatus::Inactive),
            "OUT_OF_STOCK" => Ok(ProductStatus::OutOfStock),
            _ => Err(ModelError::invalid(
                "status",
                "must be ACTIVE, INACTIVE or OUT_OF_STOCK",
            )),
        }
    }
}

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stock-keeping unit such as `IPHONE15PRO-128-BLU`: letters, digits, `-`, `_` and `.`,
/// stored upper-case so `abc-1` and `ABC-1` are the same SKU.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

string_schema!(
    Sku,
    "A stock-keeping unit, upper-case.",
    "IPHONE15PRO-128-BLU"
);

impl Sku {
    pub fn parse(field: &str, text: &str) -> Result<Self, ModelError> {
        let valid_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if text.is_empty()
            || text.len() > 100
            || !valid_chars
            || !text.as_bytes()[0].is_ascii_alphanumeric()
        {
            return Err(ModelError::invalid(
                field,
                "must be 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit",
            ));
        }
        Ok(Sku(text.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::parse("sku", &value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}

/// Free-form attributes (`{"color": "Blue", "storage": "128 GB"}`): string keys and values,
/// so filters like `?color=Blue` compare like with like.
pub type Attributes = BTreeMap<String, String>;

pub fn validate_attributes(field: &str, attributes: &Attributes) -> Result<(), ModelError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ModelError::invalid(
            field,
            format!("at most {MAX_ATTRIBUTES} attributes"),
        ));
    }
    for (key, value) in attributes {
        let key_ok = !key.is_empty()
            && key.len() <= 50
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok {
            return Err(ModelError::invalid(
                field,
                format!("attribute name {key:?} must be 1-50 letters, digits or '_'"),
            ));
        }
        if value.trim().is_empty() || value.chars().count() > 200 {
            return Err(ModelError::invalid(
                field,
                format!("attribute {key} must have a value of 1-200 characters"),
            ));
        }
    }
    Ok(())
}

/// Trims a required text field and checks its length in characters.
pub fn required_text(field: &str, text: &str, max_chars: usize) -> Result<String, ModelError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ModelError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ModelError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ModelError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Image locations: an absolute https URL or a path on our own image host, no spaces or quotes
/// (they end up in HTML attributes at the edge).
pub fn validate_image_url(field: &str, url: &str) -> Result<(), ModelError> {
    let shape_ok = url.starts_with("https://") || (url.starts_with('/') && !url.starts_with("//"));
    let chars_ok = url
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'));
    if url.len() > 500 || !shape_ok || !chars_ok {
        return Err(ModelError::invalid(
            field,
            "must be an https URL or an absolute path, at most 500 characters, without spaces or quotes",
        ));
    }
    Ok(())
}

/// Sort orders of the product listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SortOrder {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    Rating,
}

impl SortOrder {
    pub fn as_str(&self) -> &'static str {
        match self {
            SortOrder::Newest => "newest",
            SortOrder::PriceAsc => "price_asc",
            SortOrder::PriceDesc => "price_desc",
            SortOrder::Rating => "rating",
        }
    }
}

impl FromStr for SortOrder {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "newest" => Ok(SortOrder::Newest),
            "price_asc" => Ok(SortOrder::PriceAsc),
            "price_desc" => Ok(SortOrder::PriceDesc),
            "rating" => Ok(SortOrder::Rating),
            _ => Err(ModelError::invalid(
                "sort",
                "must be newest, price_asc, price_desc or rating",
            )),
        }
    }
}

/// A validated listing request: every field has been checked, so the store can build SQL
/// from it without re-checking anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListingFilter {
    pub category: Option<CategoryId>,
    pub brand: Option<String>,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub min_rating: Option<u8>,
    pub sort: SortOrder,
    pub page: u32,
    pub size: u32,
}

impl ListingFilter {
    /// Parses the query parameters of `GET /api/products`, looked up by their API names
    /// (`category`, `brand`, `minPrice`, `maxPrice`, `minRating`, `sort`, `page`, `size`).
    pub fn parse<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ModelError> {
        let (category, brand, min_price, max_price) = (
            param("category"),
            param("brand"),
            param("minPrice"),
            param("maxPrice"),
        );
        let (min_rating, sort, page, size) = (
            param("minRating"),
            param("sort"),
            param("page"),
            param("size"),
        );
        let category = category
            .map(|c| {
                CategoryId::parse(c)
                    .map_err(|_| ModelError::invalid("category", "must be a category id"))
            })
            .transpose()?;
        let brand = brand.map(|b| required_text("brand", b, 255)).transpose()?;
        let price = |field: &str, raw: Option<&str>| -> Result<Option<Decimal>, ModelError> {
            raw.map(|text| {
                let value = Decimal::from_str_exact(text.trim()).map_err(|_| {
                    ModelError::invalid(field, "must be a decimal amount such as 499.99")
                })?;
                parse_amount(field, value, Currency::USD)
            })
            .transpose()
        };
        let min_price = price("minPrice", min_price)?;
        let max_price = price("maxPrice", max_price)?;
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            return Err(ModelError::invalid(
                "minPrice",
                "must not be greater than maxPrice",
            ));
        }
        let min_rating = min_rating
            .map(|r| match r.trim().parse::<u8>() {
                Ok(v @ 1..=5) => Ok(v),
                _ => Err(ModelError::invalid(
                    "minRating",
                    "must be a whole number from 1 to 5",
                )),
            })
            .transpose()?;
        let sort = sort
            .map(SortOrder::from_str)
            .transpose()?
            .unwrap_or_default();
        let page = page
            .map(|p| {
                p.trim()
                    .parse::<u32>()
                    .map_err(|_| ModelError::invalid("page", "must be a whole number from 0"))
            })
            .transpose()?
            .unwrap_or(0);
        let size = size
            .map(|s| match s.trim().parse::<u32>() {
                Ok(v @ 1..=MAX_PAGE_SIZE) => Ok(v),
                _ => Err(ModelError::invalid(
                    "size",
                    format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                )),
            })
            .transpose()?
            .unwrap_or(DEFAULT_PAGE_SIZE);
        if (u64::from(page) + 1) * u64::from(size) > MAX_RESULT_WINDOW {
            return Err(ModelError::invalid(
                "page",
                format!("listings go at most {MAX_RESULT_WINDOW} results deep; narrow the filters"),
            ));
        }
        Ok(ListingFilter {
            category,
            brand,
            min_price,
            max_price,
            min_rating,
            sort,
            page,
            size,
        })
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page) * u64::from(self.size)
    }
}

/// The seed's four price buckets (`< 500`, `500-1000`, `1000-1500`, `>= 1500`); the lower bound
/// is inclusive, the upper exclusive.
pub const PRICE_RANGES: [(Option<u32>, Option<u32>); 4] = [
    (None, Some(500)),
    (Some(500), Some(1000)),
    (Some(1000), Some(1500)),
    (Some(1500), None),
];

/// Rating facets: "4★ & up" down to "1★ & up".
pub const RATING_BUCKETS: [u8; 4] = [4, 3, 2, 1];

/// The bucket index of an effective price in [`PRICE_RANGES`].
pub fn price_bucket(price: Decimal) -> usize {
    PRICE_RANGES
        .iter()
        .position(|(_, max)| max.is_none_or(|m| price < Decimal::from(m)))
        .unwrap_or(PRICE_RANGES.len() - 1)
}

/// One row of the flat category table, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub category_id: CategoryId,
    pub parent_category_id: Option<CategoryId>,
    pub name: String,
    pub slug: String,
    pub level: i32,
    pub display_order: i32,
}

/// A node of the category tree as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryNode {
    pub category_id: CategoryId,
    pub name: String,
    pub slug: String,
    pub level: i32,
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<CategoryNode>,
}

/// Builds the tree from flat rows, siblings in display order then name. Rows whose parent is
/// missing become roots rather than vanishing.
pub fn build_category_tree(rows: &[CategoryRow]) -> Vec<CategoryNode> {
    let known: BTreeSet<CategoryId> = rows.iter().map(|r| r.category_id).collect();
    let mut children: BTreeMap<Option<CategoryId>, Vec<&CategoryRow>> = BTreeMap::new();
    for row in rows {
        let parent = row.parent_category_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(row);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| (a.display_order, &a.name).cmp(&(b.display_order, &b.name)));
    }
    fn build(
        parent: Option<CategoryId>,
        children: &BTreeMap<Option<CategoryId>, Vec<&CategoryRow>>,
        depth: usize,
    ) -> Vec<CategoryNode> {
        // The database forbids cycles; the depth guard keeps a corrupt table from recursing forever.
        if depth > 32 {
            return Vec::new();
        }
        children
            .get(&parent)
            .map(|rows| {
                rows.iter()
                    .map(|row| CategoryNode {
                        category_id: row.category_id,
                        name: row.name.clone(),
                        slug: row.slug.clone(),
                        level: row.level,
                        children: build(Some(row.category_id), children, depth + 1),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    build(None, &children, 0)
}

/// A product as a seller or admin submits it, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidProduct {
    pub seller_id: Option<SellerId>,
    pub category_id: CategoryId,
    pub name: String,
    pub brand: String,
    pub description: String,
    pub sku: Sku,
    pub base_price: Decimal,
    pub sale_price: Option<Decimal>,
    pub currency: Currency,
    pub status: ProductStatus,
    pub attributes: Attributes,
    pub max_quantity_per_order: i32,
    pub variants: Vec<ValidVariant>,
    pub images: Vec<ValidImage>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidVariant {
    pub sku: Sku,
    pub name: String,
    pub price_modifier: Decimal,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidImage {
    pub url: String,
    pub alt_text: String,
}

/// Checks a variant's price modifier against its product's base price: the variant's price
/// must stay within 0..=MAX_AMOUNT.
pub fn validate_price_modifier(
    field: &str,
    base_price: Decimal,
    modifier: Decimal,
    currency: Currency,
) -> Result<Decimal, ModelError> {
    if modifier.normalize().scale() > currency.minor_units() {
        return Err(ModelError::invalid(field, "has too many decimal places"));
    }
    let price = base_price
        .checked_add(modifier)
        .ok_or_else(|| ModelError::invalid(field, "is out of range"))?;
    if price.is_sign_negative() && !price.is_zero() {
        return Err(ModelError::invalid(
            field,
            "would make the variant's price negative",
        ));
    }
    if price > MAX_AMOUNT {
        return Err(ModelError::invalid(
            field,
            "would make the variant's price too large",
        ));
    }
    Ok(modifier.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn parse(q: &[(&str, &str)]) -> Result<ListingFilter, ModelError> {
        ListingFilter::parse(|k| q.iter().find(|(key, _)| *key == k).map(|(_, v)| *v))
    }

    #[test]
    fn listing_defaults_are_first_page_of_twenty_newest() {
        let f = parse(&[]).unwrap();
        assert_eq!((f.page, f.size, f.sort), (0, 20, SortOrder::Newest));
    }

    #[test]
    fn listing_refuses_bad_parameters() {
        for q in [
            vec![("size", "101")],
            vec![("size", "0")],
            vec![("page", "-1")],
            vec![("page", "x")],
            vec![("minPrice", "-5")],
            vec![("minPrice", "1e3")],
            vec![("minPrice", "10"), ("maxPrice", "5")],
            vec![("sort", "cheapest")],
            vec![("category", "0")],
            vec![("minRating", "6")],
            vec![("page", "500"), ("size", "100")],
            vec![("brand", "   ")],
        ] {
            assert!(parse(&q).is_err(), "{q:?} was accepted");
        }
    }

    #[test]
    fn listing_accepts_the_seeds_parameters() {
        let f = parse(&[
            ("category", "3"),
            ("brand", "Apple"),
            ("minPrice", "100"),
            ("maxPrice", "999.99"),
            ("sort", "price_desc"),
            ("page", "2"),
            ("size", "50"),
        ])
        .unwrap();
        assert_eq!(f.category, Some(CategoryId::new(3)));
        assert_eq!(f.max_price, Some(dec!(999.99)));
        assert_eq!(f.offset(), 100);
    }

    #[test]
    fn price_buckets_follow_the_seed() {
        assert_eq!(price_bucket(dec!(0)), 0);
        assert_eq!(price_bucket(dec!(499.99)), 0);
        assert_eq!(price_bucket(dec!(500)), 1);
        assert_eq!(price_bucket(dec!(1499.99)), 2);
        assert_eq!(price_bucket(dec!(1500)), 3);
        assert_eq!(price_bucket(dec!(99999)), 3);
    }

    #[test]
    fn skus_are_normalised_and_checked() {
        assert_eq!(
            Sku::parse("sku", "iphone15pro-128-blu").unwrap().as_str(),
            "IPHONE15PRO-128-BLU"
        );
        for bad in ["", "-x", "a b", "ä", &"x".repeat(101)] {
            assert!(Sku::parse("sku", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn category_tree_nests_and_orders_children() {
        let row = |id: i64, parent: Option<i64>, name: &str, order: i32| CategoryRow {
            category_id: CategoryId::new(id),
            parent_category_id: parent.map(CategoryId::new),
            name: name.into(),
            slug: name.to_lowercase(),
            level: i32::from(parent.is_some()),
            display_order: order,
        };
        let tree = build_category_tree(&[
            row(1, None, "Electronics", 0),
            row(2, Some(1), "Phones", 1),
            row(3, Some(1), "Laptops", 0),
            row(4, None, "Books", 1),
            row(5, Some(99), "Orphan", 2),
        ]);
        let names: Vec<_> = tree.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["Electronics", "Books", "Orphan"]);
        let kids: Vec<_> = tree[0].children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(kids, ["Laptops", "Phones"]);
    }

    #[test]
    fn attributes_and_images_are_checked() {
        let mut attrs = Attributes::new();
        attrs.insert("color".into(), "Blue".into());
        assert!(validate_attributes("attributes", &attrs).is_ok());
        attrs.insert("bad key".into(), "x".into());
        assert!(validate_attributes("attributes", &attrs).is_err());
        assert!(validate_image_url("images", "https://img.example/p/1.jpg").is_ok());
        assert!(validate_image_url("images", "/images/products/1/1.svg?v=2").is_ok());
        for bad in [
            "http://x",
            "//evil",
            "javascript:alert(1)",
            "/a b",
            "/a\"onload=x",
        ] {
            assert!(validate_image_url("images", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn variant_modifiers_keep_the_price_in_range() {
        assert!(validate_price_modifier("m", dec!(10), dec!(-10), Currency::USD).is_ok());
        assert!(validate_price_modifier("m", dec!(10), dec!(-10.01), Currency::USD).is_err());
        assert!(validate_price_modifier("m", dec!(10), dec!(0.001), Currency::USD).is_err());
    }
}

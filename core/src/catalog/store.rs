//! SQL for the catalog's reads (category tree, product detail, variants) and writes
//! (products with their variants and images).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::Currency;
use shared_model::api::catalog::{
    ImageView, ProductDetail, RatingSummary, ReviewView, VariantView,
};
use shared_model::catalog::{Attributes, CategoryRow, ValidProduct};
use shared_model::ids::{CategoryId, ImageId, ProductId, ReviewId, SellerId, VariantId};
use shared_model::money::with_minor_units;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::error::ApiError;

/// Reviews shown on a product page.
const RECENT_REVIEWS: i64 = 5;

pub async fn category_rows(db: &PgPool) -> Result<Vec<CategoryRow>, ApiError> {
    let rows: Vec<(i64, Option<i64>, String, String, i32, i32)> = sqlx::query_as(
        "SELECT category_id, parent_category_id, name, slug, level, display_order FROM categories",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, parent, name, slug, level, display_order)| CategoryRow {
                category_id: CategoryId::new(id),
                parent_category_id: parent.map(CategoryId::new),
                name,
                slug,
                level,
                display_order,
            },
        )
        .collect())
}

/// The materialised path of a category, or `None` if it does not exist.
pub async fn category_path(db: &PgPool, category: CategoryId) -> Result<Option<String>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT path FROM categories WHERE category_id = $1")
            .bind(category.get())
            .fetch_optional(db)
            .await?,
    )
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    product_id: i64,
    seller_id: i64,
    category_id: i64,
    name: String,
    brand: String,
    description: String,
    sku: String,
    base_price: Decimal,
    sale_price: Option<Decimal>,
    effective_price: Decimal,
    currency: String,
    status: String,
    attributes: sqlx::types::Json<Attributes>,
    max_quantity_per_order: i32,
    avg_rating: Decimal,
    review_count: i32,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    variant_id: i64,
    sku: String,
    name: String,
    price_modifier: Decimal,
    attributes: sqlx::types::Json<Attributes>,
    in_stock: bool,
}

/// Which products a detail read may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The storefront: INACTIVE products do not exist.
    Public,
    /// Sellers and admins reading back what they wrote.
    Any,
}

/// A product with its variants, images, rating summary and latest reviews.
pub async fn product_detail(
    db: &PgPool,
    product: ProductId,
    visibility: Visibility,
) -> Result<Option<ProductDetail>, ApiError> {
    let mut conn = db.acquire().await?;
    let row: Option<ProductRow> = sqlx::query_as(
        "SELECT product_id, seller_id, category_id, name, brand, description, sku, base_price,
                sale_price, effective_price, currency, status, attributes, max_quantity_per_order,
                avg_rating, review_count, version, created_at, updated_at
           FROM products WHERE product_id = $1 AND ($2 OR status <> 'INACTIVE')",
    )
    .bind(product.get())
    .bind(visibility == Visibility::Any)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let variants = variants_with_stock(
        &mut conn,
        product,
        row.effective_price,
        row.currency.parse()?,
    )
    .await?;
    let has_stock: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inventory i
                          LEFT JOIN product_variants v ON v.variant_id = i.variant_id
                         WHERE i.product_id = $1 AND i.quantity_available > 0
                           AND (i.variant_id IS NULL OR v.is_active))",
    )
    .bind(product.get())
    .fetch_one(&mut *conn)
    .await?;
    let images: Vec<(i64, String, String, bool)> = sqlx::query_as(
        "SELECT image_id, image_url, alt_text, is_primary FROM product_images
          WHERE product_id = $1 ORDER BY is_primary DESC, display_order, image_id",
    )
    .bind(product.get())
    .fetch_all(&mut *conn)
    .await?;
    let histogram: Vec<(i16, i64)> = sqlx::query_as(
        "SELECT rating, count(*) FROM reviews WHERE product_id = $1 AND status = 'PUBLISHED' GROUP BY rating",
    )
    .bind(product.get())
    .fetch_all(&mut *conn)
    .await?;
    let reviews = recent_reviews(&mut conn, product).await?;
    let status = row.status.parse()?;
    let currency = row.currency.parse()?;
    Ok(Some(ProductDetail {
        product_id: ProductId::new(row.product_id),
        seller_id: SellerId::new(row.seller_id),
        category_id: CategoryId::new(row.category_id),
        name: row.name,
        brand: row.brand,
        description: row.description,
        sku: row.sku,
        price: with_minor_units(row.base_price, currency),
        sale_price: row.sale_price.map(|p| with_minor_units(p, currency)),
        currency,
        in_stock: status == shared_model::catalog::ProductStatus::Active && has_stock,
        status,
        attributes: row.attributes.0,
        max_quantity_per_order: row.max_quantity_per_order,
        rating_summary: RatingSummary {
            average: super::listing_sql::rating(row.avg_rating),
            count: row.review_count,
            histogram: (1..=5i16)
                .map(|star| {
                    let count = histogram
                        .iter()
                        .find(|(r, _)| *r == star)
                        .map_or(0, |(_, c)| *c);
                    (star.to_string(), count)
                })
                .collect::<BTreeMap<_, _>>(),
        },
        variants,
        images: images
            .into_iter()
            .map(|(id, url, alt_text, is_primary)| ImageView {
                image_id: ImageId::new(id),
                url,
                alt_text,
                is_primary,
            })
            .collect(),
        reviews,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }))
}

/// Active variants with their live availability and own price.
pub async fn variants_with_stock(
    conn: &mut PgConnection,
    product: ProductId,
    effective_price: Decimal,
    currency: Currency,
) -> Result<Vec<VariantView>, ApiError> {
    let rows: Vec<VariantRow> = sqlx::query_as(
        "SELECT v.variant_id, v.sku, v.name, v.price_modifier, v.attributes,
                EXISTS (SELECT 1 FROM inventory i
                         WHERE i.product_id = v.product_id AND i.variant_id = v.variant_id
                           AND i.quantity_available > 0) AS in_stock
           FROM product_variants v
          WHERE v.product_id = $1 AND v.is_active
          ORDER BY v.display_order, v.variant_id",
    )
    .bind(product.get())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|v| VariantView {
            variant_id: VariantId::new(v.variant_id),
            sku: v.sku,
            name: v.name,
            price_modifier: with_minor_units(v.price_modifier, currency),
            price: with_minor_units(effective_price + v.price_modifier, currency),
            attributes: v.attributes.0,
            in_stock: v.in_stock,
        })
        .collect())
}

/// The effective price and currency of a visible product, for pricing its variants.
pub async fn visible_effective_price(
    db: &PgPool,
    product: ProductId,
) -> Result<Option<(Decimal, Currency)>, ApiError> {
    let row: Option<(Decimal, String)> = sqlx::query_as(
        "SELECT effective_price, currency FROM products WHERE product_id = $1 AND status <> 'INACTIVE'",
    )
    .bind(product.get())
    .fetch_optional(db)
    .await?;
    row.map(|(price, currency)| Ok((price, currency.parse()?)))
        .transpose()
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    review_id: i64,
    rating: i16,
    title: String,
    body: String,
    first_name: String,
    last_name: String,
    verified_purchase: bool,
    helpful_count: i32,
    created_at: DateTime<Utc>,
}

async fn recent_reviews(
    conn: &mut PgConnection,
    product: ProductId,
) -> Result<Vec<ReviewView>, ApiError> {
    let rows: Vec<ReviewRow> = sqlx::query_as(
        "SELECT r.review_id, r.rating, r.title, r.body, u.first_name, u.last_name,
                r.verified_purchase, r.helpful_count, r.created_at
           FROM reviews r JOIN users u ON u.user_id = r.user_id
          WHERE r.product_id = $1 AND r.status = 'PUBLISHED'
          ORDER BY r.created_at DESC, r.review_id DESC LIMIT $2",
    )
    .bind(product.get())
    .bind(RECENT_REVIEWS)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReviewView {
            review_id: ReviewId::new(r.review_id),
            rating: r.rating,
            title: r.title,
            body: r.body,
            // First name and initial only.
            author: match r.last_name.chars().next() {
                Some(initial) => format!("{} {initial}.", r.first_name),
                None => r.first_name,
            },
            verified_purchase: r.verified_purchase,
            helpful_count: r.helpful_count,
            created_at: r.created_at,
        })
        .collect())
}

/// The house seller, owner of products an admin lists without naming a seller.
pub async fn house_seller(db: &PgPool) -> Result<SellerId, ApiError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT seller_id FROM sellers WHERE is_house")
        .fetch_optional(db)
        .await?;
    id.map(SellerId::new)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the house seller row is missing")))
}

/// A product write whose `$2`-`$12` are the product's fields, in [`with_fields`]' order.
type ProductWrite<'q> = sqlx::query::QueryAs<'q, Postgres, (i64, i64), sqlx::postgres::PgArguments>;

fn with_fields<'q>(query: ProductWrite<'q>, product: &'q ValidProduct) -> ProductWrite<'q> {
    query
        .bind(product.category_id.get())
        .bind(&product.name)
        .bind(&product.description)
        .bind(&product.brand)
        .bind(product.sku.as_str())
        .bind(product.base_price)
        .bind(product.sale_price)
        .bind(product.currency.as_str())
        .bind(product.status.as_str())
        .bind(sqlx::types::Json(&product.attributes))
        .bind(product.max_quantity_per_order)
}

/// Inserts a product with its variants and images; the caller commits.
pub async fn insert_product(
    tx: &mut Transaction<'_, Postgres>,
    seller: SellerId,
    product: &ValidProduct,
) -> Result<(ProductId, i64), ApiError> {
    let insert = sqlx::query_as(
        "INSERT INTO products (seller_id, category_id, name, description, brand, sku, base_price,
                               sale_price, currency, status, attributes, max_quantity_per_order)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING product_id, version",
    )
    .bind(seller.get());
    let (id, version) = with_fields(insert, product).fetch_one(&mut **tx).await?;
    let id = ProductId::new(id);
    upsert_variants(tx, id, product).await?;
    replace_images(tx, id, product).await?;
    Ok((id, version))
}

/// Replaces a product's fields, variants and images. `owner`, when given, must own it;
/// `seller`, when given, becomes its seller. Answers the new version.
pub async fn update_product(
    tx: &mut Transaction<'_, Postgres>,
    id: ProductId,
    owner: Option<SellerId>,
    seller: Option<SellerId>,
    product: &ValidProduct,
) -> Result<i64, ApiError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT seller_id FROM products WHERE product_id = $1 FOR UPDATE")
            .bind(id.get())
            .fetch_optional(&mut **tx)
            .await?;
    let current =
        current.ok_or_else(|| ApiError::not_found("product_not_found", "no such product"))?;
    if let Some(owner) = owner
        && owner.get() != current
    {
        return Err(ApiError::forbidden(
            "not_your_product",
            "this product belongs to another seller",
        ));
    }
    let update = sqlx::query_as(
        "UPDATE products SET seller_id = COALESCE($1, seller_id), category_id = $2, name = $3,
                description = $4, brand = $5, sku = $6, base_price = $7, sale_price = $8,
                currency = $9, status = $10, attributes = $11, max_quantity_per_order = $12,
                version = version + 1, updated_at = now()
          WHERE product_id = $13 RETURNING product_id, version",
    )
    .bind(seller.map(SellerId::get));
    let (_, version) = with_fields(update, product)
        .bind(id.get())
        .fetch_one(&mut **tx)
        .await?;
    upsert_variants(tx, id, product).await?;
    replace_images(tx, id, product).await?;
    Ok(version)
}

/// Variants are matched by SKU: listed ones are inserted or updated, the rest retired (stock
/// rows and past orders still point at them, so they are never deleted).
async fn upsert_variants(
    tx: &mut Transaction<'_, Postgres>,
    id: ProductId,
    product: &ValidProduct,
) -> Result<(), ApiError> {
    let skus: Vec<&str> = product.variants.iter().map(|v| v.sku.as_str()).collect();
    let names: Vec<&str> = product.variants.iter().map(|v| v.name.as_str()).collect();
    let modifiers: Vec<Decimal> = product.variants.iter().map(|v| v.price_modifier).collect();
    let attributes: Vec<serde_json::Value> = product
        .variants
        .iter()
        .map(|v| serde_json::to_value(&v.attributes).unwrap_or_default())
        .collect();
    let saved: i64 = sqlx::query_scalar(
        "WITH input AS (
            SELECT * FROM UNNEST($2::text[], $3::text[], $4::numeric[], $5::jsonb[])
                       WITH ORDINALITY AS t(sku, name, price_modifier, attributes, position)
         ), saved AS (
            INSERT INTO product_variants (product_id, sku, name, price_modifier, attributes, display_order)
            SELECT $1, sku, name, price_modifier, attributes, position FROM input
            ON CONFLICT (sku) DO UPDATE
               SET name = EXCLUDED.name, price_modifier = EXCLUDED.price_modifier,
                   attributes = EXCLUDED.attributes, display_order = EXCLUDED.display_order,
                   is_active = true, updated_at = now()
             WHERE product_variants.product_id = EXCLUDED.product_id
            RETURNING 1
         ) SELECT count(*) FROM saved",
    )
    .bind(id.get())
    .bind(&skus)
    .bind(&names)
    .bind(&modifiers)
    .bind(&attributes)
    .fetch_one(&mut **tx)
    .await?;
    if saved != skus.len() as i64 {
        // The conflict clause skipped a SKU that belongs to another product.
        return Err(ApiError::conflict(
            "sku_taken",
            "a variant SKU is already used by another product",
        ));
    }
    sqlx::query(
        "UPDATE product_variants SET is_active = false, updated_at = now()
          WHERE product_id = $1 AND is_active AND NOT (sku = ANY($2))",
    )
    .bind(id.get())
    .bind(&skus)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn replace_images(
    tx: &mut Transaction<'_, Postgres>,
    id: ProductId,
    product: &ValidProduct,
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM product_images WHERE product_id = $1")
        .bind(id.get())
        .execute(&mut **tx)
        .await?;
    let urls: Vec<&str> = product.images.iter().map(|i| i.url.as_str()).collect();
    let alts: Vec<&str> = product.images.iter().map(|i| i.alt_text.as_str()).collect();
    // The first image is the primary one.
    sqlx::query(
        "INSERT INTO product_images (product_id, image_url, alt_text, display_order, is_primary)
         SELECT $1, url, alt, position, position = 1
           FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS t(url, alt, position)",
    )
    .bind(id.get())
    .bind(&urls)
    .bind(&alts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a seller exists and may list products.
pub async fn seller_is_active(db: &PgPool, seller: SellerId) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sellers WHERE seller_id = $1 AND status = 'ACTIVE')",
    )
    .bind(seller.get())
    .fetch_one(db)
    .await?)
}

//! Public catalog reads: `/api/categories`, `/api/products`, `/api/products/{id}` and
//! `/api/products/{id}/variants`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use shared_model::ModelError;
use shared_model::api::ErrorBody;
use shared_model::api::catalog::{ProductDetail, ProductList, VariantList};
use shared_model::catalog::{CategoryNode, ListingFilter, build_category_tree};
use shared_model::ids::ProductId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cache::{self, Entry, Lookup};
use super::listing;
use super::store::{self, Visibility};
use crate::error::{ApiError, ApiResult};
use crate::http::{PathParam, QueryParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories))
        .routes(routes!(list_products))
        .routes(routes!(product))
        .routes(routes!(variants))
}

/// Answers from the cache, or loads, caches and answers. Values are cached as the JSON bytes
/// that are sent, so a hit costs no serialisation. The loader is told the generation it must
/// be consistent with (none when Redis is unavailable and nothing will be cached).
async fn cached_json<F, Fut, T>(state: &AppState, entry: Entry, load: F) -> ApiResult<Response>
where
    F: FnOnce(Option<i64>) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
    T: serde::Serialize,
{
    let lookup = cache::lookup(&state.redis, &entry).await;
    let bytes = match lookup {
        Lookup::Hit(bytes) => bytes,
        Lookup::Miss { generation } => {
            let json = serialise(&load(Some(generation)).await?)?;
            cache::fill(&state.redis, &entry, generation, &json).await;
            json.into()
        }
        Lookup::Unavailable => serialise(&load(None).await?)?.into(),
    };
    Ok(json_response(bytes))
}

fn serialise<T: serde::Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising: {e}")))
}

fn json_response(bytes: bytes::Bytes) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The category tree.
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    responses((status = 200, body = Vec<CategoryNode>)))]
async fn categories(State(state): State<AppState>) -> ApiResult<Response> {
    let entry = Entry::category_tree(&state.redis);
    cached_json(&state, entry, |_| async {
        Ok(build_category_tree(&store::category_rows(&state.db).await?))
    })
    .await
}

/// Query parameters of the listing, as sent; [`ListingFilter::parse`] checks them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListingQuery {
    /// A category id: products in it and in every category below it.
    category: Option<String>,
    brand: Option<String>,
    /// Inclusive, on the price after any sale (a decimal string such as `499.99`).
    min_price: Option<String>,
    max_price: Option<String>,
    /// 1-5: products rated at least this.
    min_rating: Option<String>,
    /// newest (default), price_asc, price_desc or rating.
    sort: Option<String>,
    /// Zero-based page number.
    page: Option<String>,
    /// 1-100, default 20.
    size: Option<String>,
}

impl ListingQuery {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "category" => self.category.as_deref(),
            "brand" => self.brand.as_deref(),
            "minPrice" => self.min_price.as_deref(),
            "maxPrice" => self.max_price.as_deref(),
            "minRating" => self.min_rating.as_deref(),
            "sort" => self.sort.as_deref(),
            "page" => self.page.as_deref(),
            "size" => self.size.as_deref(),
            _ => None,
        }
    }
}

/// Browse products by category, brand, price and rating, sorted and paged, with facet counts.
#[utoipa::path(get, path = "/api/products", tag = "catalog", params(ListingQuery),
    responses(
        (status = 200, body = ProductList),
        (status = 400, description = "An unknown query parameter", body = ErrorBody),
        (status = 404, description = "Unknown category, or a page past the end", body = ErrorBody),
        (status = 422, description = "A parameter is out of range", body = ErrorBody),
    ))]
async fn list_products(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListingQuery>,
) -> ApiResult<Response> {
    let filter = ListingFilter::parse(|name| query.get(name))?;
    let entry = Entry::listing(&state.redis, &canonical_query(&filter));
    cached_json(&state, entry, |generation| {
        listing::list_products(&state, &filter, generation)
    })
    .await
}

/// One cache key per distinct listing, however the query string was spelt.
fn canonical_query(filter: &ListingFilter) -> String {
    let opt = |v: Option<String>| v.unwrap_or_default();
    format!(
        "c={}&b={}&min={}&max={}&r={}&s={}&p={}&n={}",
        opt(filter.category.map(|c| c.to_string())),
        opt(filter.brand.as_ref().map(|b| b.replace('&', "%26"))),
        opt(filter.min_price.map(|p| p.normalize().to_string())),
        opt(filter.max_price.map(|p| p.normalize().to_string())),
        opt(filter.min_rating.map(|r| r.to_string())),
        filter.sort.as_str(),
        filter.page,
        filter.size,
    )
}

/// A product with its variants, images, rating summary and latest reviews.
#[utoipa::path(get, path = "/api/products/{productId}", tag = "catalog",
    params(("productId" = String, Path)),
    responses((status = 200, body = ProductDetail), (status = 404, body = ErrorBody)))]
async fn product(
    State(state): State<AppState>,
    PathParam(id): PathParam<ProductId>,
) -> ApiResult<Response> {
    let entry = Entry::product(&state.redis, id);
    cached_json(&state, entry, |_| async {
        store::product_detail(&state.db, id, Visibility::Public)
            .await?
            .ok_or_else(|| product_not_found(id))
    })
    .await
}

fn product_not_found(id: ProductId) -> ApiError {
    ApiError::not_found("product_not_found", format!("no product {id}"))
}

/// A product's variants with live availability, optionally filtered by attributes
/// (`?color=Blue&storage=256 GB`, matched case-insensitively). Never cached: this is what the
/// buy box asks just before adding to cart.
#[utoipa::path(get, path = "/api/products/{productId}/variants", tag = "catalog",
    params(("productId" = String, Path),
           ("attributes" = Option<HashMap<String, String>>, Query, style = Form, explode,
            description = "Attribute filters, e.g. color=Blue")),
    responses((status = 200, body = VariantList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn variants(
    State(state): State<AppState>,
    PathParam(id): PathParam<ProductId>,
    QueryParams(filters): QueryParams<HashMap<String, String>>,
) -> ApiResult<axum::Json<VariantList>> {
    if filters.len() > 10 {
        return Err(ModelError::invalid("attributes", "at most 10 attribute filters").into());
    }
    let filters: shared_model::catalog::Attributes = filters.into_iter().collect();
    shared_model::catalog::validate_attributes("attributes", &filters)?;
    let (price, currency) = store::visible_effective_price(&state.db, id)
        .await?
        .ok_or_else(|| product_not_found(id))?;
    let mut conn = state.db.acquire().await?;
    let variants = store::variants_with_stock(&mut conn, id, price, currency)
        .await?
        .into_iter()
        .filter(|v| {
            filters.iter().all(|(name, wanted)| {
                v.attributes
                    .get(name)
                    .is_some_and(|value| value.eq_ignore_ascii_case(wanted.trim()))
            })
        })
        .collect();
    Ok(axum::Json(VariantList {
        product_id: id,
        variants,
    }))
}

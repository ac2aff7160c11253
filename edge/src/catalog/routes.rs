//! Product data served from the edge cache.

use shared_model::ids::ProductId;

use crate::catalog;
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::Response;

/// `GET /api/products/{id}` from the edge cache.
pub async fn product_json(
    host: &impl Host,
    config: &EdgeConfig,
    id: &str,
) -> Result<Response, EdgeError> {
    let id: ProductId = id
        .parse()
        .map_err(|_| EdgeError::invalid("productId", "must be a positive whole number"))?;
    let found = catalog::product(host, config, id)
        .await?
        .ok_or_else(|| EdgeError::NotFound(format!("product {id}")))?;
    let max_age = catalog::FRESH_FOR.num_seconds();
    Ok(Response::json(200, &found.product)
        .with_header("cache-control", &format!("public, max-age={max_age}"))
        .with_header("x-edge-cache", if found.stale { "stale" } else { "fresh" }))
}

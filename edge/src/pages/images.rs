//! Product images: `/images/products/{productId}/{n}.svg?v=…`, the URLs the catalog names.
//! The edge draws the demo catalog's placeholders itself. URLs carry a version, so an image
//! never changes under its URL and may be kept for a year (seed Part 9: static assets).

use crate::error::EdgeError;
use crate::http::Response;

/// The most images a product shows.
const MAX_IMAGES: u32 = 20;

pub fn product_image(product: &str, file: &str) -> Result<Response, EdgeError> {
    let product = shared_model::ids::ProductId::parse(product)?;
    let n: u32 = file
        .strip_suffix(".svg")
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=MAX_IMAGES).contains(n))
        .ok_or_else(|| EdgeError::NotFound(format!("image {file}")))?;
    // A hue per product, a shade per image: placeholders that tell products apart.
    let hue = (product.get().unsigned_abs() * 47) % 360;
    let light = 35 + (n * 10) % 40;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" role="img" aria-label="Product {product}, image {n}"><rect width="400" height="400" fill="hsl({hue},55%,{light}%)"/><text x="200" y="210" font-family="sans-serif" font-size="28" fill="#fff" text-anchor="middle">Product {product} · {n}</text></svg>"##
    );
    Ok(Response::new(200, "image/svg+xml", svg)
        .with_header("cache-control", "public, max-age=31536000, immutable"))
}

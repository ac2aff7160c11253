//! Browsing: the home page with the category tree, a category's listing (filters, facets,
//! sorting, pages) and the product page with its buy box and reviews.

use maud::{Markup, html};
use shared_model::api::catalog::{ProductDetail, ProductList, ProductSummary};
use shared_model::catalog::CategoryNode;
use shared_model::ids::{CategoryId, ProductId};

use super::format::money;
use super::layout::{page, respond};
use crate::catalog::{self, CachedProduct};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Request, Response};

/// Pages built from cached catalog data may be kept by browsers as long as the data is fresh.
fn cache_control(stale: bool) -> String {
    if stale {
        "no-store".into()
    } else {
        format!("public, max-age={}", catalog::FRESH_FOR.num_seconds())
    }
}

/// `GET /`: the category tree.
pub async fn home(host: &impl Host, config: &EdgeConfig) -> Result<Response, EdgeError> {
    let tree = catalog::categories(host, config).await?;
    let markup = page(
        "Shop by category",
        html! {
            h1 { "Shop by category" }
            nav aria-label="Categories" { (category_tree(&tree.value)) }
        },
    );
    Ok(respond(200, markup, &cache_control(tree.stale)))
}

fn category_tree(nodes: &[CategoryNode]) -> Markup {
    html! {
        ul {
            @for node in nodes {
                li {
                    a href={ "/c/" (node.category_id) } { (node.name) }
                    @if !node.children.is_empty() { (category_tree(&node.children)) }
                }
            }
        }
    }
}

/// The listing filters a page may pass on to the core, as the core names them.
const FILTERS: &[&str] = &[
    "brand",
    "minPrice",
    "maxPrice",
    "minRating",
    "sort",
    "page",
    "size",
];

/// `GET /c/{categoryId}`: one page of the category's products.
pub async fn category(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = CategoryId::parse(id)?;
    let mut filters: Vec<(String, String)> = request
        .query_pairs()
        .into_iter()
        .filter(|(name, value)| FILTERS.contains(&name.as_str()) && !value.is_empty())
        .collect();
    filters.sort();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("category", &id.to_string());
    for (name, value) in &filters {
        query.append_pair(name, value);
    }
    let listing = catalog::listing(host, config, &query.finish()).await?;
    let name = catalog::categories(host, config)
        .await
        .ok()
        .and_then(|tree| find(&tree.value, id).map(|n| n.name.clone()))
        .unwrap_or_else(|| "Products".into());
    let markup = page(&name, listing_page(&name, id, &filters, &listing.value));
    Ok(respond(200, markup, &cache_control(listing.stale)))
}

fn find(nodes: &[CategoryNode], id: CategoryId) -> Option<&CategoryNode> {
    nodes.iter().find_map(|n| {
        if n.category_id == id {
            Some(n)
        } else {
            find(&n.children, id)
        }
    })
}

/// A link to this listing with one filter changed (`None` removes it) and the page reset.
fn with_filter(
    id: CategoryId,
    filters: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (n, v) in filters.iter().filter(|(n, _)| n != name && n != "page") {
        query.append_pair(n, v);
    }
    if let Some(value) = value {
        query.append_pair(name, value);
    }
    format!("/c/{id}?{}", query.finish())
}

fn listing_page(
    name: &str,
    id: CategoryId,
    filters: &[(String, String)],
    list: &ProductList,
) -> Markup {
    let current = |key: &str| {
        filters
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, v)| v.as_str())
    };
    let page_link = |page: i64| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (n, v) in filters.iter().filter(|(n, _)| n != "page") {
            query.append_pair(n, v);
        }
        query.append_pair("page", &page.to_string());
        format!("/c/{id}?{}", query.finish())
    };
    let pages = &list.pagination;
    html! {
        h1 { (name) }
        p { (pages.total) " products" }
        div.listing {
            aside aria-label="Filters" {
                h2 { "Sort" }
                ul {
                    @for (value, label) in [("newest", "Newest"), ("price_asc", "Price: low to high"), ("price_desc", "Price: high to low"), ("rating", "Rating")] {
                        li {
                            @if current("sort").unwrap_or("newest") == value { strong { (label) } }
                            @else { a href=(with_filter(id, filters, "sort", Some(value))) { (label) } }
                        }
                    }
                }
                h2 { "Brand" }
                ul {
                    @for brand in &list.facets.brands {
                        li {
                            @if current("brand") == Some(brand.name.as_str()) {
                                strong { (brand.name) } " (" (brand.count) ") "
                                a href=(with_filter(id, filters, "brand", None)) { "clear" }
                            } @else {
                                a href=(with_filter(id, filters, "brand", Some(&brand.name))) { (brand.name) } " (" (brand.count) ")"
                            }
                        }
                    }
                }
                h2 { "Price" }
                form method="get" action={ "/c/" (id) } {
                    @for (n, v) in filters.iter().filter(|(n, _)| n != "minPrice" && n != "maxPrice" && n != "page") {
                        input type="hidden" name=(n) value=(v);
                    }
                    label { "From " input type="number" name="minPrice" min="0" step="0.01" value=[current("minPrice")] size="6"; }
                    " "
                    label { "to " input type="number" name="maxPrice" min="0" step="0.01" value=[current("maxPrice")] size="6"; }
                    " "
                    button.secondary type="submit" { "Apply" }
                }
                h2 { "Rating" }
                ul {
                    @for rating in &list.facets.ratings {
                        li { a href=(with_filter(id, filters, "minRating", Some(&rating.min_rating.to_string()))) { (rating.min_rating) "★ and up" } " (" (rating.count) ")" }
                    }
                }
            }
            section aria-label="Products" {
                @if list.products.is_empty() { p { "Nothing matches these filters." } }
                ul.grid { @for product in &list.products { li.card { (summary(product)) } } }
                nav.pages aria-label="Pages" {
                    @if pages.page > 0 { a href=(page_link(i64::from(pages.page) - 1)) rel="prev" { "← Previous" } }
                    span { "Page " (pages.page + 1) " of " (pages.total_pages.max(1)) }
                    @if i64::from(pages.page) + 1 < pages.total_pages { a href=(page_link(i64::from(pages.page) + 1)) rel="next" { "Next →" } }
                }
            }
        }
    }
}

fn summary(product: &ProductSummary) -> Markup {
    html! {
        @if let Some(url) = &product.image_url {
            img src=(url) alt=(product.name) width="200" height="200" loading="lazy";
        }
        h3 { a href={ "/p/" (product.product_id) } { (product.name) } }
        p { (product.brand) }
        (price(product.price, product.sale_price, product.currency))
        p { (product.rating) "★ (" (product.review_count) ")" }
    }
}

fn price(
    price: rust_decimal::Decimal,
    sale: Option<rust_decimal::Decimal>,
    currency: shared_model::Currency,
) -> Markup {
    html! {
        p {
            @match sale {
                Some(sale) if sale < price => {
                    span.price { (money(sale, currency)) }
                    span.was { del { (money(price, currency)) } }
                }
                _ => { span.price { (money(price, currency)) } }
            }
        }
    }
}

/// `GET /p/{productId}`.
pub async fn product(
    host: &impl Host,
    config: &EdgeConfig,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = ProductId::parse(id)?;
    let found = catalog::product(host, config, id)
        .await?
        .ok_or_else(|| EdgeError::NotFound(format!("product {id}")))?;
    let markup = page(&found.product.name, product_page(&found));
    Ok(respond(200, markup, &cache_control(found.stale)))
}

fn product_page(found: &CachedProduct) -> Markup {
    let product: &ProductDetail = &found.product;
    let cap = product.max_quantity_per_order.max(1);
    html! {
        article {
            @if let Some(image) = product.images.iter().find(|i| i.is_primary).or(product.images.first()) {
                img src=(image.url) alt=(image.alt_text) width="400" height="400";
            }
            h1 { (product.name) }
            p { "by " (product.brand) }
            (price(product.price, product.sale_price, product.currency))
            p { (stock_badge(found)) }
            form method="post" action="/cart/items" {
                input type="hidden" name="productId" value=(product.product_id);
                @if !product.variants.is_empty() {
                    fieldset {
                        legend { "Choose one" }
                        @for (i, variant) in product.variants.iter().enumerate() {
                            label {
                                input type="radio" name="variantId" value=(variant.variant_id) required checked[i == 0];
                                " " (variant.name) " · " (money(variant.price, product.currency))
                                @if !found.stale && !variant.in_stock { " · out of stock" }
                            }
                            br;
                        }
                    }
                }
                label { "Quantity " input type="number" name="quantity" value="1" min="1" max=(cap) required; }
                " "
                button type="submit" { "Add to cart" }
            }
            @if !product.description.is_empty() { h2 { "About this product" } p { (product.description) } }
            h2 { "Reviews" }
            p { (product.rating_summary.average) "★ from " (product.rating_summary.count) " reviews" }
            @for review in &product.reviews {
                section.card {
                    h3 { (review.rating) "★ " (review.title) }
                    p { (review.body) }
                    p { small { (review.author) @if review.verified_purchase { " · verified purchase" } } }
                }
            }
        }
    }
}

/// "In stock" only from a fresh copy: a copy kept while the core is down says nothing about
/// stock.
fn stock_badge(found: &CachedProduct) -> Markup {
    html! {
        @if found.stale {
            span.badge.unknown-stock { "Stock unknown right now" }
        } @else if found.shows_in_stock() {
            span.badge.in-stock { "In stock" }
        } @else {
            span.badge.out-of-stock { "Out of stock" }
        }
    }
}

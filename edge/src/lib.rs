//! The edge of edgeshop: the storefront's routing and handlers, written once against [`Host`]
//! so the Cloudflare Workers and Spin adapters stay thin.
//!
//! Served here: the storefront's pages, product data from the edge cache, the cart API,
//! checkout from the cart, the cart merge on sign-in and the flash-sale waiting room.
//! Everything else under `/api/` is forwarded to the core.

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod core_client;
pub mod error;
pub mod forward;
pub mod host;
pub mod http;
pub mod join_reports;
pub mod memo;
#[cfg(any(test, feature = "memory-host"))]
pub mod memory_host;
pub mod pages;
pub mod rate_limit;
pub mod signin;
pub mod waiting_room;

use serde::de::DeserializeOwned;

pub use config::EdgeConfig;
pub use error::EdgeError;
pub use host::{CoreRequest, Host, HostError};
pub use http::{Method, Request, Response};

/// Request bodies the edge reads are small JSON documents; anything larger is refused before
/// it is parsed (or forwarded).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Answers one request. Never fails: every error becomes its answer here, JSON under `/api/`
/// and an HTML page elsewhere.
pub async fn handle(host: &impl Host, request: Request) -> Response {
    match route(host, &request).await {
        Ok(response) => response,
        Err(err) if request.path.starts_with("/api/") => err.to_response(),
        Err(err) => pages::error_page(&err),
    }
}

async fn route(host: &impl Host, request: &Request) -> Result<Response, EdgeError> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(EdgeError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let config = EdgeConfig::from_host(host)?;
    join_reports::send_due(host, &config);
    if rate_limit::applies(request)
        && let Some(client) = rate_limit::client(request)
        && !rate_limit::admit(&client, host.now().timestamp(), config.rate_limit_per_ip)
    {
        return Err(EdgeError::TooManyRequests);
    }
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (request.method, segments.as_slice()) {
        (Method::Get, ["api", "cart"]) => cart::routes::get_cart(host, &config, request).await,
        (Method::Post, ["api", "cart", "items"]) => {
            cart::routes::add_item(host, &config, request).await
        }
        (Method::Put, ["api", "cart", "items", item]) => {
            cart::routes::set_quantity(host, &config, request, item).await
        }
        (Method::Delete, ["api", "cart", "items", item]) => {
            cart::routes::remove_item(host, &config, request, item).await
        }
        (_, ["api", "cart", ..]) => Err(EdgeError::MethodNotAllowed),
        (Method::Get, ["api", "products", id]) => {
            catalog::routes::product_json(host, &config, id).await
        }
        (Method::Post, ["api", "checkout", "initiate"]) => {
            checkout::initiate(host, &config, request).await
        }
        (Method::Post, ["api", "flash-sales", id, "buy"]) => {
            checkout::buy_now(host, &config, request, id).await
        }
        (Method::Post, ["api", "checkout", id, "pay"]) => {
            checkout::pay(host, &config, request, id).await
        }
        (Method::Post, ["api", "auth", "login" | "register"]) => {
            signin::sign_in(host, &config, request).await
        }
        (Method::Post, ["api", "flash-sales", id, "queue"]) => {
            waiting_room::join_json(host, &config, request, id).await
        }
        (Method::Get, ["api", "flash-sales", id, "status"]) => {
            waiting_room::status_json(host, &config, request, id).await
        }
        (_, ["api", ..]) => forward::to_core(host, &config, request).await,
        (Method::Get, [""]) => pages::catalog::home(host, &config).await,
        (Method::Get, ["c", id]) => pages::catalog::category(host, &config, request, id).await,
        (Method::Get, ["p", id]) => pages::catalog::product(host, &config, id).await,
        (Method::Get, ["cart"]) => pages::cart::show(host, &config, request).await,
        (Method::Post, ["cart", "items"]) => pages::cart::add(host, &config, request).await,
        (Method::Post, ["cart", "items", item]) => {
            pages::cart::change(host, &config, request, item).await
        }
        (Method::Get, ["images", "products", product, file]) => {
            pages::images::product_image(product, file)
        }
        (Method::Get, ["login"]) => Ok(pages::account::login_form(request)),
        (Method::Get, ["register"]) => Ok(pages::account::register_form(request)),
        (Method::Post, ["login"]) => pages::account::submit(host, &config, request, false).await,
        (Method::Post, ["register"]) => pages::account::submit(host, &config, request, true).await,
        (Method::Post, ["logout"]) => pages::account::logout(host, &config, request).await,
        (Method::Get, ["checkout"]) => pages::checkout::start(host, &config, request).await,
        (Method::Post, ["checkout"]) => pages::checkout::reserve(host, &config, request).await,
        (Method::Get, ["checkout", id]) => pages::checkout::show(host, &config, request, id).await,
        (Method::Post, ["checkout", id, "pay"]) => {
            pages::checkout::pay(host, &config, request, id).await
        }
        (Method::Get, ["sale", id]) => pages::sale::show(host, &config, request, id).await,
        (Method::Post, ["sale", id, "join"]) => pages::sale::join(host, &config, request, id).await,
        (Method::Post, ["sale", id, "buy"]) => pages::sale::buy(host, &config, request, id).await,
        (Method::Get, ["orders"]) => pages::orders::list(host, &config, request).await,
        (Method::Get, ["orders", id]) => pages::orders::show(host, &config, request, id).await,
        _ => Err(EdgeError::NotFound(format!(
            "{} {}",
            request.method.as_str(),
            request.path
        ))),
    }
}

/// Parses a JSON request body into `T`, with a clear 400 when it does not fit.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, EdgeError> {
    serde_json::from_slice(&request.body).map_err(|e| EdgeError::MalformedJson(e.to_string()))
}

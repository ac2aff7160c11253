//! A core that serves a small catalog, and an edge host in front of it.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use ed25519_dalek::SigningKey;
use edgeshop_edge::memory_host::MemoryHost;
use edgeshop_edge::{HostError, Method, Request, Response};
use rust_decimal::Decimal;
use shared_model::Currency;
use shared_model::api::catalog::{ProductDetail, RatingSummary, VariantView};
use shared_model::auth::{Claims, Role, sign};
use shared_model::catalog::ProductStatus;
use shared_model::ids::{CategoryId, ProductId, SellerId, SessionId, UserId, VariantId};

pub const PHONE: i64 = 1;
pub const SHIRT: i64 = 2;
pub const SHIRT_RED: i64 = 21;
pub const RETIRED: i64 = 3;

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
}

pub fn product(id: i64, price: &str, variants: &[(i64, &str)]) -> ProductDetail {
    ProductDetail {
        product_id: ProductId::new(id),
        seller_id: SellerId::new(1),
        category_id: CategoryId::new(1),
        name: format!("Product {id}"),
        brand: "Acme".into(),
        description: String::new(),
        sku: format!("SKU-{id}"),
        price: price.parse().unwrap(),
        sale_price: None,
        currency: Currency::USD,
        status: ProductStatus::Active,
        attributes: Default::default(),
        max_quantity_per_order: 5,
        in_stock: true,
        rating_summary: RatingSummary {
            average: Decimal::ZERO,
            count: 0,
            histogram: Default::default(),
        },
        variants: variants
            .iter()
            .map(|(vid, vprice)| VariantView {
                variant_id: VariantId::new(*vid),
                sku: format!("SKU-{id}-{vid}"),
                name: format!("Variant {vid}"),
                price_modifier: Decimal::ZERO,
                price: vprice.parse().unwrap(),
                attributes: Default::default(),
                in_stock: true,
            })
            .collect(),
        images: Vec::new(),
        reviews: Vec::new(),
        version: 1,
        created_at: start(),
        updated_at: start(),
    }
}

/// The catalog the scripted core serves; tests edit it to play a product edit in the core.
pub type Catalog = Rc<RefCell<HashMap<i64, ProductDetail>>>;

pub struct Edge {
    pub host: MemoryHost,
    pub catalog: Catalog,
    pub core_up: Rc<RefCell<bool>>,
    pub signing_key: SigningKey,
}

impl Edge {
    pub fn new() -> Self {
        let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
        let public = URL_SAFE_NO_PAD.encode(signing_key.verifying_key().to_bytes());
        let host = MemoryHost::new(
            start(),
            &[
                ("CORE_URL", "http://core.test"),
                ("EDGE_JWT_PUBLIC_KEY", public.as_str()),
            ],
        );
        let mut products = HashMap::new();
        products.insert(PHONE, product(PHONE, "499.00", &[]));
        products.insert(SHIRT, product(SHIRT, "20.00", &[(SHIRT_RED, "22.00")]));
        let mut retired = product(RETIRED, "9.00", &[]);
        retired.status = ProductStatus::Inactive;
        products.insert(RETIRED, retired);
        let catalog: Catalog = Rc::new(RefCell::new(products));
        let core_up = Rc::new(RefCell::new(true));
        let (served, up) = (catalog.clone(), core_up.clone());
        host.set_core(move |request| {
            if !*up.borrow() {
                return Err(HostError::Unreachable("connection refused".into()));
            }
            let path = request.url.trim_start_matches("http://core.test");
            let id = path
                .strip_prefix("/api/products/")
                .and_then(|id| id.parse::<i64>().ok());
            Ok(match id.and_then(|id| served.borrow().get(&id).cloned()) {
                Some(product) => Response::json(200, &product),
                None => Response::json(404, &serde_json::json!({"error": {"code": "not_found", "message": "no such product"}})),
            })
        });
        Edge {
            host,
            catalog,
            core_up,
            signing_key,
        }
    }

    pub fn send(&self, request: Request) -> Response {
        pollster::block_on(edgeshop_edge::handle(&self.host, request))
    }

    pub fn token(&self, user: i64) -> String {
        let claims = Claims::new(
            UserId::new(user),
            Role::Customer,
            SessionId(uuid_like(user)),
            start().timestamp(),
        );
        sign(&claims, &self.signing_key).unwrap()
    }
}

fn uuid_like(n: i64) -> uuid::Uuid {
    uuid::Uuid::from_u128(n as u128)
}

pub fn add(product: i64, variant: Option<i64>, quantity: u32) -> Request {
    let mut body = serde_json::json!({"productId": product, "quantity": quantity});
    if let Some(variant) = variant {
        body["variantId"] = variant.into();
    }
    Request::new(Method::Post, "/api/cart/items").with_body(body.to_string())
}

pub fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&response.body)
        )
    })
}

pub fn error_code(response: &Response) -> String {
    json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

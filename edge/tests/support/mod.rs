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
use edgeshop_edge::{CoreRequest, HostError, Method, Request, Response};
use rust_decimal::Decimal;
use shared_model::Currency;
use shared_model::api::catalog::{
    BrandFacet, Facets, Pagination, ProductDetail, ProductList, ProductSummary, RatingSummary,
    VariantView,
};
use shared_model::api::checkout::{
    CheckoutLine, CheckoutView, InitiateCheckoutRequest, PayResponse, PaymentMethod,
};
use shared_model::auth::{Claims, Role, sign};
use shared_model::catalog::ProductStatus;
use shared_model::flash_sale::{AdmissionCursor, AdmissionKey, Place, QueueTicket};
use shared_model::ids::{
    CartId, CategoryId, CheckoutId, FlashSaleId, OrderId, ProductId, SagaId, SellerId, SessionId,
    UserId, VariantId,
};
use shared_model::order::{CheckoutStatus, OrderNumber, OrderStatus, PaymentStatus};

pub const EDGE_SECRET: &str = "edge-secret-for-tests";
/// The waiting room's secret the scripted core and the edge share.
pub const ADMISSION_SECRET: &str = "admission-secret-for-edge-tests-0123456789";
/// The flash sale the scripted core runs (on [`PHONE`]).
pub const SALE: i64 = 70;
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
    /// The admission cursor of [`SALE`] the scripted core publishes; tests move it.
    pub cursor: Rc<RefCell<AdmissionCursor>>,
}

/// A cursor of [`SALE`] started at [`start`], nobody admitted yet.
pub fn cursor() -> AdmissionCursor {
    AdmissionCursor {
        flash_sale_id: FlashSaleId::new(SALE),
        starts_at: start(),
        started: true,
        sold_out: false,
        closed: false,
        admitted: 0,
        early_joiners: 0,
        early_threshold: 0,
        late_admitted: 0,
        late_admitted_until_ms: 0,
        last_arrival_ms: arrived(1_000),
        joined: 1_000,
        admission_rate_per_minute: 600,
        unit_may_return_at: None,
        last_unit_may_return_at: None,
    }
}

/// When the `arrival`-th late joiner (0-based) arrived: a second apart from the start.
pub fn arrived(arrival: u64) -> i64 {
    start().timestamp_millis() + arrival as i64 * 1_000
}

/// `cursor` admitting the first `n` late joiners.
pub fn admit_arrivals(cursor: &mut AdmissionCursor, n: u64) {
    cursor.late_admitted = n;
    cursor.late_admitted_until_ms = arrived(n - 1);
}

/// The ticket of `user` as the `arrival`-th late joiner.
pub fn ticket(user: i64, arrival: u64) -> String {
    ticket_at(
        user,
        Place::AfterStart {
            arrived_ms: arrived(arrival),
        },
        u128::from(arrival) + 1,
    )
}

/// A ticket of `user` for [`SALE`] at `place`, named by `id`.
pub fn ticket_at(user: i64, place: Place, id: u128) -> String {
    AdmissionKey::from_secret(ADMISSION_SECRET)
        .unwrap()
        .sign_ticket(&QueueTicket {
            sale: FlashSaleId::new(SALE),
            user: UserId::new(user),
            ticket_id: uuid::Uuid::from_u128(id),
            place,
            joined_at: start().timestamp(),
        })
        .unwrap()
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
                ("EDGE_SECRET", EDGE_SECRET),
                ("ADMISSION_KEY", ADMISSION_SECRET),
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
        let cursor = Rc::new(RefCell::new(cursor()));
        let (served, up, key) = (catalog.clone(), core_up.clone(), signing_key.clone());
        let published = cursor.clone();
        // The cart the last checkout came from, which paying it names (as the core does).
        let checked_out: Rc<RefCell<Option<CartId>>> = Rc::default();
        host.set_core(move |request| {
            if !*up.borrow() {
                return Err(HostError::Unreachable("connection refused".into()));
            }
            let path = request.url.trim_start_matches("http://core.test");
            if let Some(answer) = flash_sale_core(path, &published) {
                return Ok(answer);
            }
            Ok(scripted_core(request, path, &served, &key, &checked_out))
        });
        Edge {
            host,
            catalog,
            core_up,
            signing_key,
            cursor,
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

/// `token` with its claims swapped for another buyer's, under the original signature.
pub fn tampered(token: &str, user: i64) -> String {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("not a compact JWT: {token}");
    };
    let claims = Claims::new(
        UserId::new(user),
        Role::Customer,
        SessionId(uuid_like(user)),
        start().timestamp(),
    );
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{header}.{payload}.{signature}")
}

fn uuid_like(n: i64) -> uuid::Uuid {
    uuid::Uuid::from_u128(n as u128)
}

/// The core's flash-sale routes for [`SALE`]: its state and its cursor (the edge gives tickets
/// itself).
fn flash_sale_core(path: &str, cursor: &Rc<RefCell<AdmissionCursor>>) -> Option<Response> {
    let sale = format!("/api/flash-sales/{SALE}");
    if path == format!("{sale}/admission") {
        return Some(Response::json(200, &*cursor.borrow()));
    }
    if path == sale {
        return Some(Response::json(
            200,
            &serde_json::json!({"flashSaleId": SALE.to_string(), "productId": PHONE.to_string(), "variantId": null,
                "productName": "Product 1", "units": 100, "unitsLeft": 40, "unitsSold": 60, "salePrice": "249.00",
                "regularPrice": "499.00", "currency": "USD", "startsAt": start(), "endsAt": null, "perBuyerLimit": 1,
                "admissionRatePerMinute": 600, "maxActiveBuyers": 1000, "purchaseTokenTtlSeconds": 300, "status": "LIVE", "soldOut": false,
                "prewarmedAt": start()}),
        ));
    }
    path.starts_with("/api/flash-sales/")
        .then(|| not_found("no such flash sale"))
}

/// The buyer the scripted core signs in, whatever the credentials.
pub const BUYER: i64 = 7;

/// What the core answers, just enough of each route for the edge's side of it.
fn scripted_core(
    request: &CoreRequest,
    path: &str,
    catalog: &Catalog,
    key: &SigningKey,
    checked_out: &RefCell<Option<CartId>>,
) -> Response {
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "categories"] => Response::json(
            200,
            &serde_json::json!([
                {"categoryId": "1", "name": "Electronics", "slug": "electronics", "level": 0, "children": [
                    {"categoryId": "2", "name": "Phones & <Tablets>", "slug": "phones", "level": 1, "children": []}
                ]}
            ]),
        ),
        ["api", "products"] => Response::json(200, &listing(catalog)),
        ["api", "products", id] => {
            match id
                .parse::<i64>()
                .ok()
                .and_then(|id| catalog.borrow().get(&id).cloned())
            {
                Some(product) => Response::json(200, &product),
                None => not_found("no such product"),
            }
        }
        ["api", "auth", "login"] => {
            if request.body.windows(5).any(|w| w == b"wrong") {
                return Response::json(
                    401,
                    &serde_json::json!({"error": {"code": "invalid_credentials", "message": "wrong email or password"}}),
                );
            }
            let claims = Claims::new(
                UserId::new(BUYER),
                Role::Customer,
                SessionId(uuid_like(BUYER)),
                start().timestamp(),
            );
            let token = sign(&claims, key).unwrap();
            Response::json(
                200,
                &serde_json::json!({"accessToken": token, "tokenType": "Bearer", "expiresIn": 86400}),
            )
            .with_header("set-cookie", "core_session=leaks")
        }
        ["api", "checkout", "initiate"] => {
            let sent: InitiateCheckoutRequest = match serde_json::from_slice(&request.body) {
                Ok(sent) => sent,
                Err(e) => {
                    return Response::json(
                        400,
                        &serde_json::json!({"error": {"code": "malformed_json", "message": e.to_string()}}),
                    );
                }
            };
            checked_out.replace(sent.cart_id.clone());
            Response::json(201, &checkout_view(&sent, catalog))
        }
        ["api", "users", "me", "addresses"] => Response::json(
            200,
            &serde_json::json!([{"addressId": "3", "addressType": "SHIPPING", "streetAddress": "1 Main St",
                "city": "Austin", "state": "TX", "postalCode": "73301", "country": "US", "isDefault": true}]),
        ),
        ["api", "checkout", id] if request.method == Method::Get && *id == CHECKOUT.to_string() => {
            let sent = InitiateCheckoutRequest {
                cart_id: None,
                items: vec![shared_model::api::checkout::CheckoutItemRequest {
                    product_id: ProductId::new(PHONE),
                    variant_id: None,
                    quantity: 1,
                    price_at_addition: None,
                }],
                shipping_address_id: shared_model::ids::AddressId::new(3),
                billing_address_id: None,
                accept_price_changes: false,
                admission_token: None,
            };
            Response::json(200, &checkout_view(&sent, catalog))
        }
        ["api", "orders", "1"] => Response::json(
            200,
            &serde_json::json!({
                "orderId": "1", "orderNumber": OrderNumber::for_saga(SagaId::for_checkout(CHECKOUT), start()),
                "status": "CONFIRMED", "paymentStatus": "CAPTURED", "subtotal": "499.00", "discount": "0",
                "tax": "0", "shipping": "0", "total": "499.00", "currency": "USD",
                "items": [], "payments": [], "history": [], "shippingAddress": {}, "createdAt": start(),
            }),
        ),
        ["api", "checkout", _, "pay"] => {
            let card_ok = request.body.windows(8).any(|w| w == b"tok_visa");
            if !card_ok {
                return Response::json(
                    402,
                    &serde_json::json!({"error": {"code": "payment_declined", "message": "declined"}}),
                );
            }
            Response::json(
                200,
                &PayResponse {
                    order_id: OrderId::new(1),
                    order_number: OrderNumber::for_saga(SagaId::for_checkout(CHECKOUT), start()),
                    status: OrderStatus::Confirmed,
                    payment_status: PaymentStatus::Captured,
                    total: Decimal::ONE,
                    currency: Currency::USD,
                    cart_id: checked_out.borrow().clone(),
                },
            )
        }
        _ => Response::json(
            200,
            &serde_json::json!({"echo": {"url": request.url, "method": request.method.as_str()}}),
        )
        .with_header("set-cookie", "core_session=leaks")
        .with_header("x-correlation-id", "corr-1"),
    }
}

/// Every active product of the catalog on one page, with a brand facet.
fn listing(catalog: &Catalog) -> ProductList {
    let mut products: Vec<ProductSummary> = catalog
        .borrow()
        .values()
        .filter(|p| p.status == ProductStatus::Active)
        .map(|p| ProductSummary {
            product_id: p.product_id,
            name: p.name.clone(),
            brand: p.brand.clone(),
            price: p.price,
            sale_price: p.sale_price,
            currency: p.currency,
            image_url: None,
            rating: Decimal::ZERO,
            review_count: 0,
            in_stock: p.in_stock,
        })
        .collect();
    products.sort_by_key(|p| p.product_id);
    let total = products.len() as i64;
    ProductList {
        products,
        pagination: Pagination {
            page: 0,
            size: 20,
            total,
            total_pages: 1,
        },
        facets: Facets {
            brands: vec![BrandFacet {
                name: "Acme".into(),
                count: total,
            }],
            price_ranges: Vec::new(),
            ratings: Vec::new(),
        },
    }
}

pub const CHECKOUT: CheckoutId = CheckoutId(uuid::Uuid::from_u128(42));

fn checkout_view(sent: &InitiateCheckoutRequest, catalog: &Catalog) -> CheckoutView {
    let items: Vec<CheckoutLine> = sent
        .items
        .iter()
        .map(|item| {
            let product = catalog
                .borrow()
                .get(&item.product_id.get())
                .cloned()
                .unwrap();
            CheckoutLine {
                product_id: item.product_id,
                variant_id: item.variant_id,
                name: product.name.clone(),
                sku: product.sku.clone(),
                quantity: item.quantity,
                unit_price: product.price,
                line_total: product.price * Decimal::from(item.quantity),
            }
        })
        .collect();
    let subtotal = items.iter().map(|l| l.line_total).sum();
    CheckoutView {
        checkout_id: CHECKOUT,
        status: CheckoutStatus::Reserved,
        order_id: OrderId::new(1),
        order_number: OrderNumber::for_saga(SagaId::for_checkout(CHECKOUT), start()),
        items,
        subtotal,
        discount: Decimal::ZERO,
        shipping: Decimal::ZERO,
        tax: Decimal::ZERO,
        total: subtotal,
        currency: Currency::USD,
        expires_at: start() + chrono::TimeDelta::minutes(15),
        seconds_remaining: 900,
        available_payment_methods: vec![PaymentMethod::Card],
        price_changes: Vec::new(),
        last_payment: None,
    }
}

fn not_found(message: &str) -> Response {
    Response::json(
        404,
        &serde_json::json!({"error": {"code": "not_found", "message": message}}),
    )
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

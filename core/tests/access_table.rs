//! The access table of seed 3.4, row by row: every endpoint against every kind of caller
//! (nobody, a forged token, a customer, a seller, an admin). A route added without a row here
//! fails `every_documented_route_has_a_row`.

mod support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shared_model::auth::Role;
use support::fixtures::small_catalog;
use support::{TestApp, TestUser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    User,
    Seller,
    Admin,
    /// The edge alone (its shared secret): no user, not even an admin.
    Edge,
}

/// (method, documented path, access). `{productId}` and `{addressId}` are filled in per test.
const TABLE: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/metrics", Access::Public),
    ("GET", "/.well-known/jwks.json", Access::Public),
    ("GET", "/api/categories", Access::Public),
    ("GET", "/api/products", Access::Public),
    ("GET", "/api/products/{productId}", Access::Public),
    ("GET", "/api/products/{productId}/variants", Access::Public),
    ("POST", "/api/auth/register", Access::Public),
    ("POST", "/api/auth/login", Access::Public),
    ("POST", "/api/auth/logout", Access::User),
    ("GET", "/api/users/me", Access::User),
    ("PATCH", "/api/users/me", Access::User),
    ("GET", "/api/users/me/addresses", Access::User),
    ("POST", "/api/users/me/addresses", Access::User),
    ("GET", "/api/users/me/addresses/{addressId}", Access::User),
    ("PUT", "/api/users/me/addresses/{addressId}", Access::User),
    (
        "DELETE",
        "/api/users/me/addresses/{addressId}",
        Access::User,
    ),
    ("POST", "/api/seller/products", Access::Seller),
    ("PUT", "/api/seller/products/{productId}", Access::Seller),
    ("POST", "/api/admin/products", Access::Admin),
    ("PUT", "/api/admin/products/{productId}", Access::Admin),
    ("PUT", "/api/admin/inventory", Access::Admin),
    ("GET", "/api/admin/warehouses", Access::Admin),
    ("POST", "/api/checkout/initiate", Access::User),
    ("POST", "/api/checkout/{checkoutId}/pay", Access::User),
    ("GET", "/api/checkout/{checkoutId}", Access::User),
    ("GET", "/api/orders", Access::User),
    ("GET", "/api/orders/{orderId}", Access::User),
    ("POST", "/api/orders/{orderId}/cancel", Access::User),
    ("GET", "/api/seller/orders", Access::Seller),
    ("PUT", "/api/carts/{cartId}", Access::Edge),
    ("POST", "/api/admin/flash-sales", Access::Admin),
    (
        "PATCH",
        "/api/admin/flash-sales/{flashSaleId}",
        Access::Admin,
    ),
    (
        "POST",
        "/api/admin/flash-sales/{flashSaleId}/cancel",
        Access::Admin,
    ),
    (
        "POST",
        "/api/admin/flash-sales/{flashSaleId}/prewarm",
        Access::Admin,
    ),
    ("GET", "/api/flash-sales/{flashSaleId}", Access::Public),
    (
        "GET",
        "/api/flash-sales/{flashSaleId}/admission",
        Access::Public,
    ),
    ("POST", "/api/flash-sales/{flashSaleId}/queue", Access::User),
    // No session: each reported ticket carries the admission key's signature.
    (
        "POST",
        "/api/flash-sales/{flashSaleId}/queue/joins",
        Access::Public,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    Forged,
    Customer,
    Seller,
    Admin,
}

/// What the guard must answer: `None` when the caller gets through to the handler.
fn expected(access: Access, caller: Caller) -> Option<(StatusCode, &'static str)> {
    use Caller::*;
    match (access, caller) {
        (Access::Public, _) => None,
        (Access::Edge, _) => Some((StatusCode::UNAUTHORIZED, "not_the_edge")),
        (_, Nobody) => Some((StatusCode::UNAUTHORIZED, "missing_token")),
        (_, Forged) => Some((StatusCode::UNAUTHORIZED, "invalid_token")),
        (Access::User, _) => None,
        (Access::Seller, Seller) => None,
        (Access::Seller, _) => Some((StatusCode::FORBIDDEN, "seller_only")),
        (Access::Admin, Admin) => None,
        (Access::Admin, _) => Some((StatusCode::FORBIDDEN, "admin_only")),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_row_of_the_access_table_holds_for_every_caller(db: sqlx::PgPool) {
    let app = TestApp::with_config(
        db.clone(),
        support::test_config_with(
            &support::redis_url(),
            &[(
                "EDGESHOP_EDGE_SECRET",
                "an-edge-secret-of-this-test".to_owned(),
            )],
        ),
    );
    let catalog = small_catalog(&db).await;
    let stranger = edgeshop_core::auth::TokenKeys::generate();
    let users: Vec<(Caller, Option<TestUser>)> = vec![
        (Caller::Nobody, None),
        (Caller::Forged, None),
        (Caller::Customer, Some(app.user(Role::Customer).await)),
        (Caller::Seller, Some(app.user(Role::Seller).await)),
        (Caller::Admin, Some(app.user(Role::Admin).await)),
    ];
    let forged = {
        let admin = users[4].1.as_ref().unwrap();
        let claims = app
            .state
            .keys
            .verify(&admin.token, chrono::Utc::now().timestamp())
            .unwrap();
        stranger.sign(&claims).unwrap()
    };
    for (caller, user) in &users {
        // Each caller gets an address of its own to read, change and delete.
        let address_id = match user {
            Some(u) => app
                .post("/api/users/me/addresses")
                .bearer(&u.token)
                .json(&json!({"streetAddress": "1 Main St", "city": "Springfield", "postalCode": "62701", "country": "US"}))
                .send()
                .await
                .json["addressId"]
                .as_str()
                .unwrap()
                .to_owned(),
            None => "1".to_owned(),
        };
        // Logout last: it ends the session the other rows use.
        let mut rows: Vec<_> = TABLE
            .iter()
            .filter(|(_, p, _)| *p != "/api/auth/logout")
            .collect();
        rows.extend(TABLE.iter().filter(|(_, p, _)| *p == "/api/auth/logout"));
        for (method, template, access) in rows {
            let path = template
                .replace("{checkoutId}", "0f8e4b1c-2d3a-4e5f-6071-8293a4b5c6d7")
                .replace("{orderId}", "987654")
                .replace("{flashSaleId}", "987654")
                .replace("{productId}", &catalog.aster.to_string())
                .replace("{addressId}", &address_id)
                .replace("{cartId}", "cart_0123456789abcdef0123456789abcdef");
            let mut call = app.call(Method::from_bytes(method.as_bytes()).unwrap(), &path);
            call = match (caller, user) {
                (Caller::Forged, _) => call.bearer(&forged),
                (_, Some(u)) => call.bearer(&u.token),
                _ => call,
            };
            if *method != "GET" && *method != "DELETE" {
                call = call.json(&json!({}));
            }
            let response = call.send().await;
            match expected(*access, *caller) {
                Some((status, code)) => {
                    assert_eq!(
                        response.status, status,
                        "{method} {path} as {caller:?}: {}",
                        response.text
                    );
                    assert_eq!(
                        response.json["error"]["code"], code,
                        "{method} {path} as {caller:?}"
                    );
                }
                None => assert!(
                    !matches!(
                        response.status,
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                    ) && !response.status.is_server_error(),
                    "{method} {path} as {caller:?} was refused: {} {}",
                    response.status,
                    response.text
                ),
            }
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_documented_route_has_a_row(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let doc = app.get("/api/openapi.json").send().await.json;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented, table,
        "the OpenAPI document and the access table disagree"
    );
}

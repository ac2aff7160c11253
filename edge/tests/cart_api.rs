//! The cart API answered at the edge, run natively on the in-memory host: what a buyer can put
//! in a cart, at whose price, in whose cart, and what never reaches the core.

mod support;

use chrono::TimeDelta;
use edgeshop_edge::{Method, Request};
use support::*;

fn cart_id(response: &edgeshop_edge::Response) -> String {
    json(response)["cartId"]
        .as_str()
        .expect("a cart id")
        .to_owned()
}

#[test]
fn a_guest_adds_at_the_catalog_price_and_gets_a_cart_cookie() {
    let edge = Edge::new();
    let response = edge.send(add(PHONE, None, 2));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let body = json(&response);
    let id = cart_id(&response);
    assert!(id.starts_with("cart_"), "{id}");
    assert_eq!(body["items"][0]["priceAtAddition"]["amount"], "499.00");
    assert_eq!(body["subtotal"]["amount"], "998.00");
    assert_eq!(body["itemCount"], 2);
    let cookie = response
        .header("set-cookie")
        .expect("a cookie for the guest");
    assert!(cookie.starts_with(&format!("cart_id={id};")), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");

    // The same cart by header and by cookie.
    let by_header = edge.send(Request::new(Method::Get, "/api/cart").with_header("x-cart-id", &id));
    let by_cookie = edge.send(
        Request::new(Method::Get, "/api/cart").with_header("cookie", &format!("cart_id={id}")),
    );
    assert_eq!(json(&by_header)["itemCount"], 2);
    assert_eq!(json(&by_cookie)["itemCount"], 2);
}

#[test]
fn a_price_from_the_client_is_refused() {
    let edge = Edge::new();
    let response = edge.send(
        Request::new(Method::Post, "/api/cart/items")
            .with_body(r#"{"productId": 1, "quantity": 1, "price": "0.01"}"#),
    );
    assert_eq!(response.status, 400);
    assert_eq!(error_code(&response), "malformed_json");
}

#[test]
fn adding_again_sums_and_stops_at_the_products_cap() {
    let edge = Edge::new();
    let id = cart_id(&edge.send(add(PHONE, None, 3)));
    let again = edge.send(add(PHONE, None, 4).with_header("x-cart-id", &id));
    let body = json(&again);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["quantity"], 5, "the product's cap is 5");
    assert_eq!(body["added"]["capped"], true);
    assert_eq!(body["added"]["merged"], true);
}

#[test]
fn a_line_is_updated_and_removed_by_its_item_id() {
    let edge = Edge::new();
    let added = edge.send(add(SHIRT, Some(SHIRT_RED), 1));
    let id = cart_id(&added);
    let item = json(&added)["items"][0]["itemId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json(&added)["items"][0]["priceAtAddition"]["amount"],
        "22.00"
    );

    let path = format!("/api/cart/items/{item}");
    let updated = edge.send(
        Request::new(Method::Put, &path)
            .with_header("x-cart-id", &id)
            .with_body(r#"{"quantity": 4}"#),
    );
    assert_eq!(updated.status, 200);
    assert_eq!(json(&updated)["subtotal"]["amount"], "88.00");
    let too_many = edge.send(
        Request::new(Method::Put, &path)
            .with_header("x-cart-id", &id)
            .with_body(r#"{"quantity": 6}"#),
    );
    assert_eq!(too_many.status, 400);
    assert_eq!(json(&too_many)["error"]["field"], "quantity");

    let removed = edge.send(Request::new(Method::Delete, &path).with_header("x-cart-id", &id));
    assert_eq!(removed.status, 200);
    assert_eq!(json(&removed)["itemCount"], 0);
    let gone = edge.send(Request::new(Method::Delete, &path).with_header("x-cart-id", &id));
    assert_eq!(gone.status, 404);
}

#[test]
fn variants_must_be_the_products_own() {
    let edge = Edge::new();
    for (variant, field) in [(None, "variantId"), (Some(99), "variantId")] {
        let response = edge.send(add(SHIRT, variant, 1));
        assert_eq!(response.status, 400);
        assert_eq!(json(&response)["error"]["field"], field);
    }
    let response = edge.send(add(PHONE, Some(SHIRT_RED), 1));
    assert_eq!(
        response.status, 400,
        "a product without variants takes none"
    );
}

#[test]
fn unknown_and_retired_products_cannot_be_added() {
    let edge = Edge::new();
    let unknown = edge.send(add(404, None, 1));
    assert_eq!(unknown.status, 404);
    assert_eq!(error_code(&unknown), "not_found");
    let retired = edge.send(add(RETIRED, None, 1));
    assert_eq!(retired.status, 400);
    assert_eq!(json(&retired)["error"]["field"], "productId");
    assert!(edge.host.kv_keys().is_empty(), "no cart was written");
}

#[test]
fn bad_input_is_refused_without_asking_the_core() {
    let edge = Edge::new();
    let oversize = Request::new(Method::Post, "/api/cart/items").with_body(vec![b' '; 20_000]);
    let cases = [
        (add(PHONE, None, 0), 400),
        (add(PHONE, None, 10_000), 400),
        (
            Request::new(Method::Get, "/api/cart").with_header("x-cart-id", "cart_../../admin"),
            400,
        ),
        (
            Request::new(Method::Get, "/api/cart").with_header("cookie", "cart_id=not-a-cart"),
            400,
        ),
        (
            Request::new(Method::Get, "/api/cart").with_header("authorization", "Bearer a.b.c"),
            401,
        ),
        (oversize, 413),
        (
            Request::new(Method::Post, "/api/cart/items").with_body("{not json"),
            400,
        ),
        (
            Request::new(Method::Put, "/api/cart/items/bogus").with_body(r#"{"quantity": 1}"#),
            400,
        ),
    ];
    for (request, status) in cases {
        let shown = format!(
            "{} {} {:?}",
            request.method.as_str(),
            request.path,
            request.headers
        );
        let response = edge.send(request);
        assert_eq!(response.status, status, "{shown}");
        assert!(
            !error_code(&response).is_empty(),
            "{shown}: a JSON error body"
        );
    }
    assert!(
        edge.host.core_calls().is_empty(),
        "{:?}",
        edge.host.core_calls()
    );
}

#[test]
fn a_token_signed_by_another_key_is_not_a_buyer() {
    let edge = Edge::new();
    let forger = Edge::new();
    let response = edge.send(
        add(PHONE, None, 1).with_header("authorization", &format!("Bearer {}", forger.token(7))),
    );
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), "invalid_token");
    assert!(edge.host.kv_keys().is_empty());
}

fn cart_of(token: &str) -> Request {
    Request::new(Method::Get, "/api/cart").with_header("authorization", &format!("Bearer {token}"))
}

#[test]
fn a_buyers_token_is_checked_once_by_the_runtimes_own_crypto() {
    let edge = Edge::new();
    let token = edge.token(7);
    for _ in 0..3 {
        assert_eq!(edge.send(cart_of(&token)).status, 200);
    }
    assert_eq!(edge.host.signature_checks(), 1);
    // Another buyer's claims under buyer 7's signature: the runtime's check refuses it.
    let response = edge.send(cart_of(&tampered(&token, 8)));
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), "invalid_token");
    assert_eq!(edge.host.signature_checks(), 2);
    assert!(edge.host.kv_keys().is_empty());
}

#[test]
fn a_runtime_without_ed25519_has_tokens_checked_by_the_edge() {
    let edge = Edge::new();
    edge.host.set_crypto(false);
    let token = edge.token(7);
    assert_eq!(edge.send(cart_of(&token)).status, 200);
    let forger = Edge::new();
    for forged in [tampered(&token, 8), forger.token(7)] {
        let response = edge.send(cart_of(&forged));
        assert_eq!(response.status, 401, "{forged}");
        assert_eq!(error_code(&response), "invalid_token");
    }
    assert_eq!(edge.host.signature_checks(), 0);
}

#[test]
fn a_signed_in_buyers_cart_follows_the_account_not_the_cookie() {
    let edge = Edge::new();
    let bearer = format!("Bearer {}", edge.token(7));
    let added = edge.send(add(PHONE, None, 1).with_header("authorization", &bearer));
    assert_eq!(added.status, 200);
    assert!(
        added.header("set-cookie").is_none(),
        "no guest cookie for a buyer"
    );
    assert_eq!(edge.host.kv_keys(), vec!["cart:user:7".to_owned()]);
    // Another device: same account, no cookie.
    let elsewhere =
        edge.send(Request::new(Method::Get, "/api/cart").with_header("authorization", &bearer));
    assert_eq!(json(&elsewhere)["itemCount"], 1);
}

#[test]
fn a_price_change_in_the_core_is_flagged_in_the_cart() {
    let edge = Edge::new();
    let id = cart_id(&edge.send(add(PHONE, None, 1)));
    edge.catalog.borrow_mut().get_mut(&PHONE).unwrap().price = "449.00".parse().unwrap();
    edge.host.advance(TimeDelta::seconds(3));
    let cart =
        json(&edge.send(Request::new(Method::Get, "/api/cart").with_header("x-cart-id", &id)));
    assert_eq!(cart["hasPriceChanges"], true);
    assert_eq!(cart["items"][0]["priceChanged"], true);
    assert_eq!(cart["items"][0]["currentPrice"]["amount"], "449.00");
    assert_eq!(cart["subtotal"]["amount"], "449.00");
}

#[test]
fn a_guest_cart_expires_after_thirty_days_untouched() {
    let edge = Edge::new();
    let id = cart_id(&edge.send(add(PHONE, None, 1)));
    edge.host.advance(TimeDelta::days(29));
    let get =
        || json(&edge.send(Request::new(Method::Get, "/api/cart").with_header("x-cart-id", &id)));
    assert_eq!(get()["itemCount"], 1);
    edge.host.advance(TimeDelta::days(2));
    assert_eq!(get()["itemCount"], 0);
}

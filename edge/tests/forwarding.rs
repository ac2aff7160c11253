//! What the edge sends on to the core: routes it does not answer, sign-in (which merges the
//! guest's cart), and checkout (whose lines come from the cart, never from the client).

mod support;

use edgeshop_edge::{Method, Request};
use support::*;

fn body_text(response: &edgeshop_edge::Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

fn login(cart: Option<&str>) -> Request {
    let request = Request::new(Method::Post, "/api/auth/login")
        .with_header("content-type", "application/json")
        .with_body(r#"{"email":"ada@example.com","password":"correct horse"}"#);
    match cart {
        Some(id) => request.with_header("x-cart-id", id),
        None => request,
    }
}

fn guest_cart(edge: &Edge, product: i64, variant: Option<i64>, quantity: u32) -> String {
    let response = edge.send(add(product, variant, quantity));
    assert_eq!(response.status, 200, "{}", body_text(&response));
    json(&response)["cartId"].as_str().unwrap().to_owned()
}

fn as_buyer(edge: &Edge, request: Request) -> Request {
    request.with_header("authorization", &format!("Bearer {}", edge.token(BUYER)))
}

#[test]
fn other_api_routes_reach_the_core_with_the_token_but_not_the_cookies() {
    let edge = Edge::new();
    let response = edge.send(
        Request::new(Method::Get, "/api/orders?limit=5")
            .with_header("authorization", "Bearer abc")
            .with_header("cookie", "cart_id=cart_0123; session=secret")
            .with_header("idempotency-key", "k-1"),
    );
    assert_eq!(response.status, 200, "{}", body_text(&response));
    assert_eq!(
        json(&response)["echo"]["url"],
        "http://core.test/api/orders?limit=5"
    );
    // The core's cookies stay at the edge; its correlation id comes back.
    assert_eq!(response.header("set-cookie"), None);
    assert_eq!(response.header("x-correlation-id"), Some("corr-1"));
    let sent = edge.host.core_calls().pop().unwrap();
    let header = |name: &str| {
        sent.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("authorization"), Some("Bearer abc"));
    assert_eq!(header("idempotency-key"), Some("k-1"));
    assert_eq!(header("cookie"), None);
}

#[test]
fn a_core_that_is_down_gets_a_clear_error_not_a_hang() {
    let edge = Edge::new();
    *edge.core_up.borrow_mut() = false;
    let response = edge.send(Request::new(Method::Get, "/api/orders"));
    assert_eq!(response.status, 502);
    assert_eq!(error_code(&response), "core_unavailable");
}

#[test]
fn signing_in_merges_the_guest_cart_into_the_buyers() {
    let edge = Edge::new();
    // The buyer's own cart, from another device: 4 phones.
    let buyers = edge.send(as_buyer(&edge, add(PHONE, None, 4)));
    assert_eq!(buyers.status, 200, "{}", body_text(&buyers));
    // As a guest: 2 more phones (6 is over the cap of 5) and a red shirt.
    let guest = guest_cart(&edge, PHONE, None, 2);
    edge.send(add(SHIRT, Some(SHIRT_RED), 1).with_header("x-cart-id", &guest));

    let response = edge.send(login(Some(&guest)));
    assert_eq!(response.status, 200, "{}", body_text(&response));
    let body = json(&response);
    assert!(body["accessToken"].is_string(), "the core's answer is kept");
    let merge = &body["cartMerge"];
    assert_eq!(merge["capped"][0]["requested"], 6);
    assert_eq!(merge["capped"][0]["kept"], 5);
    assert_eq!(merge["cart"]["itemCount"], 6);
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.starts_with("cart_id=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");

    // The guest cart is gone; the buyer's cart holds both.
    let old = edge.send(Request::new(Method::Get, "/api/cart").with_header("x-cart-id", &guest));
    assert_eq!(json(&old)["itemCount"], 0);
    let mine = edge.send(as_buyer(&edge, Request::new(Method::Get, "/api/cart")));
    assert_eq!(json(&mine)["itemCount"], 6);
    assert!(
        !edge.host.kv_keys().iter().any(|k| k.contains(&guest)),
        "{:?}",
        edge.host.kv_keys()
    );
}

#[test]
fn a_refused_sign_in_leaves_the_guest_cart_alone() {
    let edge = Edge::new();
    let guest = guest_cart(&edge, PHONE, None, 2);
    let response = edge.send(
        Request::new(Method::Post, "/api/auth/login")
            .with_header("x-cart-id", &guest)
            .with_body(r#"{"email":"ada@example.com","password":"wrong"}"#),
    );
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), "invalid_credentials");
    assert_eq!(response.header("set-cookie"), None);
    let cart = edge.send(Request::new(Method::Get, "/api/cart").with_header("x-cart-id", &guest));
    assert_eq!(json(&cart)["itemCount"], 2);
}

#[test]
fn a_malformed_cart_id_at_sign_in_never_reaches_the_core() {
    let edge = Edge::new();
    let response = edge.send(login(Some("cart_../../etc")));
    assert_eq!(response.status, 400);
    assert!(edge.host.core_calls().is_empty());
}

fn initiate() -> Request {
    Request::new(Method::Post, "/api/checkout/initiate")
        .with_header("idempotency-key", "checkout-1")
        .with_body(r#"{"shippingAddressId": 3}"#)
}

#[test]
fn checkout_sends_the_carts_lines_at_the_prices_the_buyer_saw() {
    let edge = Edge::new();
    edge.send(as_buyer(&edge, add(PHONE, None, 2)));
    edge.send(as_buyer(&edge, add(SHIRT, Some(SHIRT_RED), 1)));
    let response = edge.send(as_buyer(&edge, initiate()));
    assert_eq!(response.status, 201, "{}", body_text(&response));
    assert_eq!(json(&response)["subtotal"], "1018.00");

    let sent = edge.host.core_calls().pop().unwrap();
    assert_eq!(sent.url, "http://core.test/api/checkout/initiate");
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert!(body["cartId"].as_str().unwrap().starts_with("cart_"));
    assert_eq!(body["shippingAddressId"], "3");
    assert_eq!(body["items"][0]["productId"], PHONE.to_string());
    assert_eq!(body["items"][0]["quantity"], 2);
    assert_eq!(body["items"][0]["priceAtAddition"], "499.00");
    assert_eq!(body["items"][1]["variantId"], SHIRT_RED.to_string());
    assert!(
        sent.headers
            .contains(&("idempotency-key".into(), "checkout-1".into())),
        "{:?}",
        sent.headers
    );
}

#[test]
fn checkout_refuses_lines_from_the_client_a_guest_and_an_empty_cart() {
    let edge = Edge::new();
    let with_items = edge.send(as_buyer(
        &edge,
        Request::new(Method::Post, "/api/checkout/initiate")
            .with_body(r#"{"shippingAddressId": 3, "items": [{"productId": 1, "quantity": 1}]}"#),
    ));
    assert_eq!(with_items.status, 400);
    assert_eq!(error_code(&with_items), "malformed_json");

    let guest = edge.send(initiate());
    assert_eq!(guest.status, 401);

    let empty = edge.send(as_buyer(&edge, initiate()));
    assert_eq!(empty.status, 400);
    assert_eq!(json(&empty)["error"]["field"], "cart");
    assert!(edge.host.core_calls().is_empty());
}

fn pay(edge: &Edge, token: &str) -> edgeshop_edge::Response {
    edge.send(as_buyer(
        edge,
        Request::new(Method::Post, &format!("/api/checkout/{CHECKOUT}/pay"))
            .with_header("idempotency-key", "pay-1")
            .with_body(format!(
                r#"{{"paymentMethod": "CARD", "paymentToken": "{token}"}}"#
            )),
    ))
}

#[test]
fn paying_takes_the_checked_out_lines_out_of_the_cart() {
    let edge = Edge::new();
    edge.send(as_buyer(&edge, add(PHONE, None, 2)));
    assert_eq!(edge.send(as_buyer(&edge, initiate())).status, 201);
    // Added after the checkout began: not paid for, so it stays.
    edge.send(as_buyer(&edge, add(SHIRT, Some(SHIRT_RED), 1)));

    let declined = pay(&edge, "tok_chargeDeclined");
    assert_eq!(declined.status, 402);
    let cart = edge.send(as_buyer(&edge, Request::new(Method::Get, "/api/cart")));
    assert_eq!(
        json(&cart)["itemCount"],
        3,
        "a declined card keeps the cart"
    );

    let paid = pay(&edge, "tok_visa");
    assert_eq!(paid.status, 200, "{}", body_text(&paid));
    assert_eq!(json(&paid)["paymentStatus"], "CAPTURED");
    let cart = edge.send(as_buyer(&edge, Request::new(Method::Get, "/api/cart")));
    let cart = json(&cart);
    assert_eq!(cart["itemCount"], 1, "{cart}");
    assert_eq!(cart["items"][0]["productId"], SHIRT.to_string());
    assert!(
        !edge
            .host
            .kv_keys()
            .iter()
            .any(|k| k.starts_with("checkout:")),
        "{:?}",
        edge.host.kv_keys()
    );
}

#[test]
fn a_malformed_checkout_id_never_reaches_the_core() {
    let edge = Edge::new();
    let response = edge.send(as_buyer(
        &edge,
        Request::new(Method::Post, "/api/checkout/not-a-uuid/pay").with_body("{}"),
    ));
    assert_eq!(response.status, 400);
    assert!(edge.host.core_calls().is_empty());
}

#[test]
fn the_core_hears_the_buyers_address_only_with_the_edges_secret() {
    let edge = Edge::new();
    let header_sent = |request: Request, name: &str| {
        edge.send(request);
        edge.host
            .core_calls()
            .pop()
            .unwrap()
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let from_cloudflare = Request::new(Method::Get, "/api/orders")
        .with_header("cf-connecting-ip", "198.51.100.7")
        .with_header("x-forwarded-for", "203.0.113.1");
    assert_eq!(
        header_sent(from_cloudflare.clone(), "x-forwarded-for").as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(
        header_sent(from_cloudflare, "x-edge-secret").as_deref(),
        Some(EDGE_SECRET)
    );
    // A runtime that names no client sends no address, and no secret with it.
    assert_eq!(
        header_sent(Request::new(Method::Get, "/api/orders"), "x-edge-secret"),
        None
    );
}

//! Signing in, checking out and seeing the order as pages, with the session in an HttpOnly
//! cookie and every form safe to submit twice.

mod support;

use edgeshop_edge::{Method, Request, Response};
use support::*;

fn html(response: &Response) -> String {
    String::from_utf8(response.body.clone()).expect("UTF-8 HTML")
}

fn form(path: &str, body: &str) -> Request {
    Request::new(Method::Post, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_owned())
}

fn cookie_value<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
}

#[test]
fn signing_in_sets_a_session_cookie_and_merges_the_guest_cart() {
    let edge = Edge::new();
    let added = edge.send(form("/cart/items", "productId=1&quantity=1"));
    let guest = cookie_value(&added, "cart_id").unwrap().to_owned();

    let signed_in = edge.send(
        form(
            "/login",
            "email=ada%40example.com&password=correct+horse&next=%2Fcheckout",
        )
        .with_header("cookie", &guest),
    );
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.header("location"), Some("/checkout"));
    let session = cookie_value(&signed_in, "session").expect("a session cookie");
    assert!(session.len() > "session=".len());
    assert_eq!(cookie_value(&signed_in, "cart_id"), Some("cart_id="));
    let set = signed_in
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("session="))
        .unwrap();
    assert!(set.1.contains("HttpOnly") && set.1.contains("SameSite=Lax"));

    let cart = html(&edge.send(Request::new(Method::Get, "/cart").with_header("cookie", session)));
    assert!(
        cart.contains("Product 1"),
        "the guest's line is the buyer's now: {cart}"
    );
}

#[test]
fn a_refused_sign_in_shows_the_form_again_and_no_session() {
    let edge = Edge::new();
    let refused = edge.send(form("/login", "email=ada%40example.com&password=wrong"));
    assert_eq!(refused.status, 401);
    assert!(html(&refused).contains("wrong email or password"));
    assert_eq!(cookie_value(&refused, "session"), None);
}

#[test]
fn only_the_shops_own_pages_are_followed_after_sign_in() {
    let edge = Edge::new();
    let response = edge.send(form(
        "/login",
        "email=a%40example.com&password=correct+horse&next=%2F%2Fevil.example",
    ));
    assert_eq!(response.header("location"), Some("/"));
    let backslash = edge.send(form(
        "/login",
        "email=a%40example.com&password=correct+horse&next=%2F%5Cevil.example",
    ));
    assert_eq!(backslash.header("location"), Some("/"));
}

#[test]
fn checkout_pages_need_a_session() {
    let edge = Edge::new();
    let response = edge.send(Request::new(Method::Get, "/checkout"));
    assert_eq!(response.status, 303);
    assert_eq!(response.header("location"), Some("/login?next=%2Fcheckout"));
    assert!(edge.host.core_calls().is_empty());
}

#[test]
fn a_buyer_reserves_pays_and_sees_the_confirmation() {
    let edge = Edge::new();
    let session = format!("session={}", edge.token(BUYER));
    edge.send(as_buyer_add(&edge, PHONE));

    let start = edge.send(Request::new(Method::Get, "/checkout").with_header("cookie", &session));
    assert_eq!(start.status, 200, "{}", html(&start));
    let page = html(&start);
    assert!(page.contains("1 Main St"), "{page}");
    let key = page
        .split(r#"name="key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form key")
        .to_owned();

    let reserved = edge
        .send(form("/checkout", &format!("key={key}&addressId=3")).with_header("cookie", &session));
    assert_eq!(reserved.status, 303, "{}", html(&reserved));
    assert_eq!(
        reserved.header("location"),
        Some(format!("/checkout/{CHECKOUT}").as_str())
    );
    let initiate = edge
        .host
        .core_calls()
        .into_iter()
        .find(|c| c.url.ends_with("/api/checkout/initiate"))
        .unwrap();
    assert!(
        initiate
            .headers
            .contains(&("idempotency-key".into(), key.clone()))
    );

    let pay_page = edge.send(
        Request::new(Method::Get, &format!("/checkout/{CHECKOUT}")).with_header("cookie", &session),
    );
    let page = html(&pay_page);
    assert!(page.contains("id=\"countdown\""), "{page}");
    assert!(page.contains("15 min 0 s"), "{page}");

    let paid = edge.send(
        form(
            &format!("/checkout/{CHECKOUT}/pay"),
            "key=pay-key-1&paymentMethod=CARD&paymentToken=tok_visa",
        )
        .with_header("cookie", &session),
    );
    assert_eq!(paid.status, 303, "{}", html(&paid));
    assert_eq!(paid.header("location"), Some("/orders/1"));
    let confirmation =
        html(&edge.send(Request::new(Method::Get, "/orders/1").with_header("cookie", &session)));
    assert!(confirmation.contains("is confirmed"), "{confirmation}");
    // The paid line left the cart.
    let cart = html(&edge.send(Request::new(Method::Get, "/cart").with_header("cookie", &session)));
    assert!(cart.contains("Your cart is empty"), "{cart}");
}

fn as_buyer_add(edge: &Edge, product: i64) -> Request {
    add(product, None, 1).with_header("authorization", &format!("Bearer {}", edge.token(BUYER)))
}

#[test]
fn signing_out_ends_the_session_in_the_core_and_drops_the_cookie() {
    let edge = Edge::new();
    let session = format!("session={}", edge.token(BUYER));
    let out = edge.send(form("/logout", "").with_header("cookie", &session));
    assert_eq!(out.status, 303);
    assert_eq!(cookie_value(&out, "session"), Some("session="));
    let told = edge
        .host
        .core_calls()
        .into_iter()
        .find(|c| c.url.ends_with("/api/auth/logout"))
        .expect("the core ends the session");
    assert!(
        told.headers
            .iter()
            .any(|(n, v)| n == "authorization" && v.starts_with("Bearer "))
    );
}

//! Each cart change sends the core a snapshot in the background (never in the buyer's way).

mod support;

use edgeshop_edge::{CoreRequest, Method, Request};
use support::*;

fn snapshot(call: &CoreRequest) -> serde_json::Value {
    serde_json::from_slice(&call.body).expect("a JSON snapshot")
}

#[test]
fn each_change_sends_a_snapshot_with_the_edge_secret() {
    let edge = Edge::new();
    let added = edge.send(add(PHONE, None, 2));
    let cart_id = json(&added)["cartId"].as_str().unwrap().to_owned();
    edge.send(
        Request::new(Method::Put, &format!("/api/cart/items/{PHONE}"))
            .with_header("x-cart-id", &cart_id)
            .with_body(r#"{"quantity": 3}"#),
    );

    let sent = edge.host.background_calls();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let last = &sent[1];
    assert_eq!(last.method, Method::Put);
    assert_eq!(last.url, format!("http://core.test/api/carts/{cart_id}"));
    assert!(
        last.headers
            .contains(&("x-edge-secret".into(), EDGE_SECRET.into()))
    );
    let body = snapshot(last);
    assert_eq!(body["userId"], serde_json::Value::Null);
    assert_eq!(body["status"], "ACTIVE");
    assert_eq!(body["items"][0]["quantity"], 3);
    assert_eq!(body["items"][0]["priceAtAddition"], "499.00");
    // The snapshot is not part of the answer: the core was only asked for the product.
    assert!(
        edge.host
            .core_calls()
            .iter()
            .all(|c| c.url.contains("/api/products/"))
    );
}

#[test]
fn a_merge_marks_the_guest_cart_merged_and_snapshots_the_buyers() {
    let edge = Edge::new();
    let added = edge.send(add(PHONE, None, 1));
    let guest = json(&added)["cartId"].as_str().unwrap().to_owned();
    let login = edge.send(
        Request::new(Method::Post, "/api/auth/login")
            .with_header("x-cart-id", &guest)
            .with_body(r#"{"email":"ada@example.com","password":"correct horse"}"#),
    );
    assert_eq!(login.status, 200);

    let sent = edge.host.background_calls();
    let buyers = sent
        .iter()
        .find(|c| {
            snapshot(c)["userId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                == Some(BUYER)
        })
        .expect("a snapshot of the buyer's cart");
    assert_eq!(snapshot(buyers)["status"], "ACTIVE");
    assert_eq!(snapshot(buyers)["items"][0]["quantity"], 1);
    let merged = sent.last().unwrap();
    assert!(merged.url.ends_with(&guest), "{}", merged.url);
    assert_eq!(snapshot(merged)["status"], "MERGED");
}

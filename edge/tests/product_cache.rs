//! Product data from the edge cache: fresh for two seconds, then asked again, so a product
//! edit in the core shows within that; served stale only while the core cannot answer, and
//! then never as "in stock".

mod support;

use chrono::TimeDelta;
use edgeshop_edge::catalog;
use edgeshop_edge::{EdgeConfig, Method, Request};
use shared_model::ids::ProductId;
use support::*;

fn get_phone(edge: &Edge) -> edgeshop_edge::Response {
    edge.send(Request::new(Method::Get, &format!("/api/products/{PHONE}")))
}

#[test]
fn a_fresh_copy_is_served_without_asking_the_core() {
    let edge = Edge::new();
    assert_eq!(get_phone(&edge).status, 200);
    edge.host.advance(TimeDelta::milliseconds(1500));
    let again = get_phone(&edge);
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-edge-cache"), Some("fresh"));
    assert_eq!(edge.host.core_calls().len(), 1);
}

#[test]
fn an_edit_in_the_core_shows_at_the_edge_within_five_seconds() {
    let edge = Edge::new();
    assert_eq!(json(&get_phone(&edge))["name"], "Product 1");
    edge.catalog.borrow_mut().get_mut(&PHONE).unwrap().name = "Phone, renamed".into();
    edge.host.advance(TimeDelta::seconds(2));
    assert_eq!(json(&get_phone(&edge))["name"], "Phone, renamed");
    assert_eq!(edge.host.core_calls().len(), 2);
}

#[test]
fn with_the_core_down_a_stale_copy_is_served_but_never_claims_stock() {
    let edge = Edge::new();
    let config = EdgeConfig::from_host(&edge.host).unwrap();
    let fresh = pollster::block_on(catalog::product(&edge.host, &config, ProductId::new(PHONE)))
        .unwrap()
        .unwrap();
    assert!(fresh.shows_in_stock());

    *edge.core_up.borrow_mut() = false;
    edge.host.advance(TimeDelta::minutes(10));
    let stale = pollster::block_on(catalog::product(&edge.host, &config, ProductId::new(PHONE)))
        .unwrap()
        .unwrap();
    assert!(stale.stale);
    assert!(
        stale.product.in_stock,
        "the copy said in stock when it was fetched"
    );
    assert!(
        !stale.shows_in_stock(),
        "but the buy box may not say so now"
    );
    assert_eq!(get_phone(&edge).header("x-edge-cache"), Some("stale"));
}

#[test]
fn with_the_core_down_and_nothing_cached_the_answer_is_a_clear_502() {
    let edge = Edge::new();
    *edge.core_up.borrow_mut() = false;
    let response = get_phone(&edge);
    assert_eq!(response.status, 502);
    assert_eq!(error_code(&response), "core_unavailable");
}

#[test]
fn an_unknown_product_is_a_404_and_a_malformed_id_a_400() {
    let edge = Edge::new();
    assert_eq!(
        edge.send(Request::new(Method::Get, "/api/products/777"))
            .status,
        404
    );
    let malformed = edge.send(Request::new(Method::Get, "/api/products/abc"));
    assert_eq!(malformed.status, 400);
    assert_eq!(
        edge.host.core_calls().len(),
        1,
        "the malformed id never reached the core"
    );
}

//! The storefront's pages, rendered at the edge: browsing works without JS, the cart is edited
//! with plain forms, stock is never claimed from a stale copy, and errors are pages.

mod support;

use edgeshop_edge::{Method, Request, Response};
use support::*;

fn html(response: &Response) -> String {
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    String::from_utf8(response.body.clone()).expect("UTF-8 HTML")
}

fn form(path: &str, body: &str) -> Request {
    Request::new(Method::Post, path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_owned())
}

#[test]
fn the_home_page_shows_the_category_tree_escaped() {
    let edge = Edge::new();
    let response = edge.send(Request::new(Method::Get, "/"));
    assert_eq!(response.status, 200);
    let page = html(&response);
    assert!(page.contains(r#"<a href="/c/1">Electronics</a>"#), "{page}");
    assert!(page.contains("Phones &amp; &lt;Tablets&gt;"), "{page}");
    assert!(
        response
            .header("cache-control")
            .unwrap()
            .starts_with("public")
    );
}

#[test]
fn a_category_page_passes_its_filters_to_the_core_and_links_the_facets() {
    let edge = Edge::new();
    let response = edge.send(Request::new(
        Method::Get,
        "/c/1?sort=price_asc&brand=Acme&utm_source=ad&page=0",
    ));
    assert_eq!(response.status, 200);
    let page = html(&response);
    assert!(page.contains(r#"<a href="/p/1">Product 1</a>"#), "{page}");
    assert!(page.contains("$499.00"), "{page}");
    assert!(
        page.contains("<strong>Price: low to high</strong>"),
        "{page}"
    );
    let asked = edge
        .host
        .core_calls()
        .into_iter()
        .find(|c| c.url.contains("/api/products?"))
        .expect("the listing came from the core");
    // Only the listing's own filters travel, in a stable order (one cache key per listing).
    assert_eq!(
        asked.url,
        "http://core.test/api/products?category=1&brand=Acme&page=0&sort=price_asc"
    );
}

#[test]
fn the_buy_box_claims_stock_only_from_a_fresh_copy() {
    let edge = Edge::new();
    let fresh = html(&edge.send(Request::new(Method::Get, "/p/2")));
    assert!(fresh.contains("In stock"), "{fresh}");
    assert!(fresh.contains(r#"name="variantId" value="21""#), "{fresh}");

    edge.host.advance(chrono::TimeDelta::seconds(10));
    *edge.core_up.borrow_mut() = false;
    let response = edge.send(Request::new(Method::Get, "/p/2"));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let stale = html(&response);
    assert!(!stale.contains("In stock"), "{stale}");
    assert!(stale.contains("Stock unknown right now"), "{stale}");
}

#[test]
fn the_cart_is_edited_with_forms_and_redirects_back() {
    let edge = Edge::new();
    let added = edge.send(form("/cart/items", "productId=2&variantId=21&quantity=2"));
    assert_eq!(added.status, 303);
    assert_eq!(added.header("location"), Some("/cart"));
    let cookie = added.header("set-cookie").expect("a guest cart cookie");
    let cart_cookie = cookie.split(';').next().unwrap().to_owned();

    let page = edge.send(Request::new(Method::Get, "/cart").with_header("cookie", &cart_cookie));
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    let page = html(&page);
    assert!(page.contains("Product 2"), "{page}");
    assert!(page.contains("$44.00"), "{page}");

    let item = "2-21";
    let updated = edge.send(
        form(&format!("/cart/items/{item}"), "quantity=3").with_header("cookie", &cart_cookie),
    );
    assert_eq!(updated.status, 303);
    let page =
        html(&edge.send(Request::new(Method::Get, "/cart").with_header("cookie", &cart_cookie)));
    assert!(page.contains("$66.00"), "{page}");

    let removed = edge
        .send(form(&format!("/cart/items/{item}"), "remove=1").with_header("cookie", &cart_cookie));
    assert_eq!(removed.status, 303);
    let page =
        html(&edge.send(Request::new(Method::Get, "/cart").with_header("cookie", &cart_cookie)));
    assert!(page.contains("Your cart is empty"), "{page}");
}

#[test]
fn bad_input_and_a_missing_core_are_pages_not_json() {
    let edge = Edge::new();
    let unknown = edge.send(Request::new(Method::Get, "/p/999"));
    assert_eq!(unknown.status, 404);
    assert!(html(&unknown).contains("Not found"));

    let too_many = edge.send(form("/cart/items", "productId=1&quantity=10000"));
    assert_eq!(too_many.status, 400);
    assert!(html(&too_many).contains("quantity"));

    *edge.core_up.borrow_mut() = false;
    let down = edge.send(Request::new(Method::Get, "/"));
    assert_eq!(down.status, 502);
    let page = html(&down);
    assert!(page.contains("The shop is busy"), "{page}");
    assert!(page.contains("Your cart is kept"), "{page}");
}

#[test]
fn product_images_are_versioned_and_kept_for_a_year() {
    let edge = Edge::new();
    let image = edge.send(Request::new(Method::Get, "/images/products/16/2.svg?v=1"));
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/svg+xml"));
    assert_eq!(
        image.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(String::from_utf8_lossy(&image.body).starts_with("<svg"));
    for bad in [
        "/images/products/16/0.svg",
        "/images/products/16/x.png",
        "/images/products/-1/1.svg",
    ] {
        let refused = edge.send(Request::new(Method::Get, bad));
        assert!(
            (400..500).contains(&refused.status),
            "{bad}: {}",
            refused.status
        );
    }
    assert!(
        edge.host.core_calls().is_empty(),
        "images never trouble the core"
    );
}

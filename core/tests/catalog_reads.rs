//! Browsing the catalog: the category tree, the listing with filters, sorting, paging and
//! facets, product detail and variant availability, and the Redis cache in front of them.

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::TestApp;
use support::fixtures::small_catalog;

fn names(list: &Value) -> Vec<String> {
    list["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_category_tree_nests_subcategories(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let tree = app.get("/api/categories").send().await;
    tree.expect(StatusCode::OK);
    let roots: Vec<&str> = tree
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(roots, ["Books", "Electronics"]);
    let electronics = &tree.json[1];
    assert_eq!(electronics["categoryId"], c.electronics.to_string());
    let children: Vec<&str> = electronics["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["Laptops", "Phones"]);
    assert_eq!(electronics["children"][0]["level"], 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_listing_shows_visible_products_newest_first_with_facets(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    small_catalog(&db).await;
    let list = app.get("/api/products").send().await;
    list.expect(StatusCode::OK);
    // Fog is INACTIVE and never listed.
    assert_eq!(
        names(&list.json),
        [
            "Ember Novel",
            "Drizzle Laptop",
            "Cirrus Laptop",
            "Borealis Phone",
            "Aster Phone"
        ]
    );
    assert_eq!(
        list.json["pagination"],
        json!({"page": 0, "size": 20, "total": 5, "totalPages": 1})
    );
    let aster = &list.json["products"][4];
    assert_eq!(aster["price"], "999.00");
    assert_eq!(aster["salePrice"], "949.00");
    assert_eq!(aster["rating"], "4.50");
    assert_eq!(aster["reviewCount"], 12);
    assert_eq!(aster["inStock"], true);
    assert!(
        aster["imageUrl"]
            .as_str()
            .unwrap()
            .starts_with("/images/products/")
    );
    // Cirrus has no stock anywhere.
    assert_eq!(list.json["products"][2]["inStock"], false);
    let facets = &list.json["facets"];
    assert_eq!(
        facets["brands"],
        json!([{"name": "Apple", "count": 2}, {"name": "Dell", "count": 1}, {"name": "Penguin", "count": 1}, {"name": "Samsung", "count": 1}])
    );
    let ranges: Vec<i64> = facets["priceRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .collect();
    assert_eq!(ranges, [2, 1, 2, 0]);
    assert_eq!(
        facets["priceRanges"][1],
        json!({"min": "500", "max": "1000", "count": 1})
    );
    let ratings: Vec<i64> = facets["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .collect();
    assert_eq!(ratings, [2, 3, 4, 4]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_category_includes_its_subcategories(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let list = app
        .get(&format!(
            "/api/products?category={}&sort=price_asc",
            c.electronics
        ))
        .send()
        .await;
    list.expect(StatusCode::OK);
    assert_eq!(
        names(&list.json),
        [
            "Borealis Phone",
            "Aster Phone",
            "Cirrus Laptop",
            "Drizzle Laptop"
        ]
    );
    let phones = app
        .get(&format!("/api/products?category={}", c.phones))
        .send()
        .await;
    assert_eq!(phones.json["pagination"]["total"], 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn filters_combine_and_each_facet_ignores_its_own_filter(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    small_catalog(&db).await;
    let list = app
        .get("/api/products?brand=Apple&minPrice=500&maxPrice=1300&sort=price_desc")
        .send()
        .await;
    list.expect(StatusCode::OK);
    assert_eq!(names(&list.json), ["Cirrus Laptop", "Aster Phone"]);
    // Brands are counted under the price filter but not the brand filter.
    assert_eq!(
        list.json["facets"]["brands"],
        json!([{"name": "Apple", "count": 2}])
    );
    // Prices are counted under the brand filter but not the price filter: Apple's 949 and 1299.99.
    let ranges: Vec<i64> = list.json["facets"]["priceRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_i64().unwrap())
        .collect();
    assert_eq!(ranges, [0, 1, 1, 0]);
    let rated = app
        .get("/api/products?minRating=4&sort=rating")
        .send()
        .await;
    assert_eq!(names(&rated.json), ["Cirrus Laptop", "Aster Phone"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_are_stable_and_a_page_past_the_end_is_refused(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    small_catalog(&db).await;
    let first = app.get("/api/products?size=2&page=0").send().await;
    let second = app.get("/api/products?size=2&page=1").send().await;
    let third = app.get("/api/products?size=2&page=2").send().await;
    let all: Vec<String> = [first, second, third]
        .iter()
        .flat_map(|p| names(&p.json))
        .collect();
    assert_eq!(all.len(), 5);
    assert_eq!(all, names(&app.get("/api/products").send().await.json));
    app.get("/api/products?size=2&page=3")
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "page_out_of_range");
    // An empty first page is simply empty.
    let none = app.get("/api/products?brand=Nobody").send().await;
    none.expect(StatusCode::OK);
    assert_eq!(none.json["pagination"]["total"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_listing_parameters_get_clear_errors(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    small_catalog(&db).await;
    for (query, status, code) in [
        (
            "size=101",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "size=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "page=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "minPrice=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "minPrice=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "minPrice=10&maxPrice=5",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "sort=cheapest",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "category=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "category=999999",
            StatusCode::NOT_FOUND,
            "category_not_found",
        ),
        ("colour=red", StatusCode::BAD_REQUEST, "invalid_query"),
    ] {
        app.get(&format!("/api/products?{query}"))
            .send()
            .await
            .expect_error(status, code);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn product_detail_has_variants_images_and_a_rating_summary(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let detail = app.get(&format!("/api/products/{}", c.aster)).send().await;
    detail.expect(StatusCode::OK);
    let p = &detail.json;
    assert_eq!(p["productId"], c.aster.to_string());
    assert_eq!(p["inStock"], true);
    assert_eq!(p["variants"].as_array().unwrap().len(), 2);
    assert_eq!(p["variants"][0]["sku"], "ASTER-1-BLU-128");
    assert_eq!(p["variants"][0]["price"], "949.00");
    assert_eq!(p["variants"][0]["inStock"], true);
    assert_eq!(p["variants"][1]["price"], "1049.00");
    assert_eq!(p["variants"][1]["inStock"], false);
    assert_eq!(p["images"][0]["isPrimary"], true);
    assert_eq!(p["ratingSummary"]["average"], "4.50");
    let ember = app.get(&format!("/api/products/{}", c.ember)).send().await;
    assert_eq!(ember.json["ratingSummary"]["average"], "0.00");
    assert_eq!(ember.json["price"], "19.99");
    assert_eq!(p["ratingSummary"]["histogram"]["5"], 0);

    app.get(&format!("/api/products/{}", c.fog))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "product_not_found");
    app.get("/api/products/987654")
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "product_not_found");
    app.get("/api/products/abc")
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_path");
}

#[sqlx::test(migrations = "../migrations")]
async fn variants_can_be_filtered_by_attribute(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let blue = app
        .get(&format!("/api/products/{}/variants?color=blue", c.aster))
        .send()
        .await;
    blue.expect(StatusCode::OK);
    assert_eq!(blue.json["variants"].as_array().unwrap().len(), 1);
    assert_eq!(
        blue.json["variants"][0]["variantId"],
        c.aster_blue.to_string()
    );
    let none = app
        .get(&format!(
            "/api/products/{}/variants?color=Blue&storage=256%20GB",
            c.aster
        ))
        .send()
        .await;
    assert_eq!(none.json["variants"], json!([]));
    let all = app
        .get(&format!("/api/products/{}/variants", c.aster))
        .send()
        .await;
    assert_eq!(all.json["variants"].as_array().unwrap().len(), 2);
    app.get(&format!("/api/products/{}/variants?bad%20name=x", c.aster))
        .send()
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[sqlx::test(migrations = "../migrations")]
async fn cached_reads_are_served_from_redis_until_the_product_changes(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let c = small_catalog(&db).await;
    let admin = app.user(shared_model::auth::Role::Admin).await;
    let path = format!("/api/products/{}", c.borealis);
    let first = app.get(&path).send().await;
    first.expect(StatusCode::OK);
    let list = app.get("/api/products?sort=price_asc").send().await;
    // Change the row behind the cache's back: a cached read must not see it...
    sqlx::query("UPDATE products SET name = 'Changed Behind The Cache' WHERE product_id = $1")
        .bind(c.borealis)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(app.get(&path).send().await.json["name"], "Borealis Phone");
    assert_eq!(
        app.get("/api/products?sort=price_asc").send().await.json,
        list.json
    );
    // ...and a change through the API invalidates the detail and every listing at once.
    let mut edit = first.json.clone();
    let body = json!({
        "name": "Borealis Phone 2", "brand": edit["brand"], "categoryId": edit["categoryId"],
        "basePrice": "440.00", "currency": "USD", "sku": edit["sku"], "description": "New."
    });
    edit = app
        .put(&format!("/api/admin/products/{}", c.borealis))
        .bearer(&admin.token)
        .json(&body)
        .send()
        .await
        .json;
    assert_eq!(edit["name"], "Borealis Phone 2");
    assert_eq!(app.get(&path).send().await.json["name"], "Borealis Phone 2");
    let relisted = app.get("/api/products?sort=price_asc").send().await;
    assert!(names(&relisted.json).contains(&"Borealis Phone 2".to_owned()));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_catalog_still_answers_when_redis_is_down(db: sqlx::PgPool) {
    // Nothing listens on port 1.
    let app = TestApp::with_redis(db.clone(), "redis://127.0.0.1:1").await;
    let c = small_catalog(&db).await;
    app.get("/api/products").send().await.expect(StatusCode::OK);
    app.get(&format!("/api/products/{}", c.aster))
        .send()
        .await
        .expect(StatusCode::OK);
    app.get("/api/categories")
        .send()
        .await
        .expect(StatusCode::OK);
}

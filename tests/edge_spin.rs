//! The edge as a Spin component under edgeshop-spin-host (wasmtime), in front of a real core:
//! the same storefront scenario as on Workers, over HTTP.

use edgeshop_tests::edge_runtime::EdgeRuntime;
use edgeshop_tests::storefront::{EDGE_SECRET, Shop, shop_at_the_edge};

#[tokio::test(flavor = "multi_thread")]
async fn the_storefront_works_on_spin() {
    let mut shop = Shop::open().await;
    let edge = EdgeRuntime::spin(
        &shop.core_url(),
        &shop.jwt_key,
        EDGE_SECRET,
        &shop.scratch.0,
    )
    .await
    .expect("the Spin component serves the edge");
    shop_at_the_edge(&mut shop, &edge.base_url).await;
    drop(edge);
    shop.close().await;
}

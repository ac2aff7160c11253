//! The edge as a Spin component under edgeshop-spin-host (wasmtime), in front of a real core:
//! the same storefront scenario as on Workers, over HTTP.

use edgeshop_tests::storefront::{Shop, shop_at_the_edge};

#[tokio::test(flavor = "multi_thread")]
async fn the_storefront_works_on_spin() {
    let mut shop = Shop::open().await;
    let edge = shop
        .edge_on_spin()
        .await
        .expect("the Spin component serves the edge");
    shop_at_the_edge(&mut shop, &edge.base_url).await;
    drop(edge);
    shop.close().await;
}

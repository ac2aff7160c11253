//! The edge as a Spin component under edgeshop-spin-host (wasmtime), in front of a real core:
//! the same storefront scenario as on Workers, over HTTP, and a core that stalls mid-answer.

use edgeshop_tests::stalled_core::{Runtime, cut_off_at_the_timeout};
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

#[tokio::test(flavor = "multi_thread")]
async fn a_core_that_stalls_mid_answer_is_cut_off_at_the_timeout() {
    cut_off_at_the_timeout(Runtime::Spin).await;
}

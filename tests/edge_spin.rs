//! The edge as a Spin component under edgeshop-spin-host (wasmtime), in front of a real core:
//! the same storefront scenario as on Workers, over HTTP, and a core that stalls mid-answer.

use edgeshop_tests::Scratch;
use edgeshop_tests::edge_runtime::EdgeRuntime;
use edgeshop_tests::stalled_core::{
    CORE_TIMEOUT_MS, StalledCore, UNUSED_JWT_KEY, cut_off_at_the_timeout,
};
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
    let core = StalledCore::start();
    let scratch = Scratch::new();
    let edge = EdgeRuntime::spin(
        &core.url,
        UNUSED_JWT_KEY,
        "edge-secret-stalled-core",
        &scratch.0,
        &[("CORE_TIMEOUT_MS", CORE_TIMEOUT_MS)],
    )
    .await
    .expect("the Spin component serves the edge");
    cut_off_at_the_timeout(&edge, &core).await;
}

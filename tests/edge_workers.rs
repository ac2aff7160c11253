//! The edge as a Cloudflare Worker under `wrangler dev`, in front of a real core: the
//! storefront scenario over HTTP.

use edgeshop_tests::storefront::{Shop, shop_at_the_edge};

#[tokio::test(flavor = "multi_thread")]
async fn the_storefront_works_on_workers() {
    let mut shop = Shop::open().await;
    let edge = shop
        .edge_on_workers()
        .await
        .expect("wrangler dev serves the edge");
    shop_at_the_edge(&mut shop, &edge.base_url).await;
    drop(edge);
    shop.close().await;
}

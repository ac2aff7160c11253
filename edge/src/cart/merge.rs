//! Guest → buyer on sign-in (seed 5.3): the guest's cart joins the buyer's with the seed's rules
//! (quantities summed and capped, unavailable lines dropped, changed prices flagged), and the
//! guest cart is gone afterwards so it cannot be merged twice.

use serde::{Deserialize, Serialize};
use shared_model::Currency;
use shared_model::api::carts::CartSnapshotStatus;
use shared_model::cart::{self, CappedLine, Cart, CartItemId, PriceChangedLine};
use shared_model::ids::{CartId, UserId};

use super::routes::{CartAnswer, view};
use super::snapshot;
use super::store::{self, CartKey, StoredCart};
use super::today::Catalog;
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;

/// What the buyer must be told after signing in ("We updated some items in your cart").
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeReport {
    pub cart: CartAnswer,
    pub capped: Vec<CappedLine>,
    pub dropped: Vec<CartItemId>,
    pub price_changed: Vec<PriceChangedLine>,
}

/// Merges the guest's cart into the buyer's; `None` when the guest had no cart.
pub async fn guest_into_buyer(
    host: &impl Host,
    config: &EdgeConfig,
    guest: CartId,
    buyer: UserId,
) -> Result<Option<MergeReport>, EdgeError> {
    let guest_key = CartKey::Guest(guest);
    let Some(guest_cart) = store::load(host, &guest_key).await? else {
        return Ok(None);
    };
    let buyer_key = CartKey::Buyer(buyer);
    let buyer_cart = match store::load(host, &buyer_key).await? {
        Some(stored) => stored,
        None => StoredCart {
            cart_id: CartId::from_random(host.random_bytes()),
            cart: Cart::new(Currency::USD),
            updated_at: host.now(),
        },
    };
    let today = Catalog::for_lines(
        host,
        config,
        guest_cart
            .cart
            .lines()
            .iter()
            .chain(buyer_cart.cart.lines()),
    )
    .await;
    let outcome = cart::merge(&guest_cart.cart, &buyer_cart.cart, |product, variant| {
        today.availability(product, variant)
    })?;
    let merged = StoredCart {
        cart_id: buyer_cart.cart_id,
        cart: outcome.cart,
        updated_at: host.now(),
    };
    // The buyer's cart is written before the guest's is deleted: a failure in between leaves
    // the lines in both (the next sign-in sums them again, within the cap), never in neither.
    store::save(host, config, &buyer_key, &merged).await?;
    store::delete(host, &guest_key).await?;
    let merged_away = StoredCart {
        updated_at: host.now(),
        ..guest_cart
    };
    snapshot::send(
        host,
        config,
        &guest_key,
        &merged_away,
        CartSnapshotStatus::Merged,
    );
    let view = view(host, config, &merged.cart).await?;
    Ok(Some(MergeReport {
        cart: CartAnswer::new(Some(merged.cart_id), view, None),
        capped: outcome.capped,
        dropped: outcome.dropped,
        price_changed: outcome.price_changed,
    }))
}

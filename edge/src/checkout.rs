//! Checkout from the edge's cart. `POST /api/checkout/initiate` takes only the addresses: the
//! lines come from the buyer's cart here, never from the client, and the core prices them. When
//! `pay` captures, the lines the checkout reserved leave the cart.
//!
//! `POST /api/flash-sales/{id}/buy` is a flash sale's "buy now": one unit of the sale's item,
//! checked out with the waiting room's admission without going through the cart. The line
//! comes from the sale, still not from the client, and paying it touches no cart. In a sale's
//! first seconds every admitted buyer checks out at once, and the cart's reads and writes (and
//! its snapshot to the core) would cost more than the checkout itself.

use serde::{Deserialize, Serialize};
use shared_model::api::checkout::{
    CheckoutItemRequest, CheckoutView, InitiateCheckoutRequest, PayResponse,
};
use shared_model::cart::{CartItemId, QuantityCap};
use shared_model::ids::{AddressId, CheckoutId, FlashSaleId, UserId};
use shared_model::order::PaymentStatus;

use crate::cart::owner::buyer;
use crate::cart::store::{self, CartKey};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::forward;
use crate::host::Host;
use crate::http::{Request, Response};
use crate::json_body;
use crate::waiting_room;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartCheckout {
    shipping_address_id: AddressId,
    #[serde(default)]
    billing_address_id: Option<AddressId>,
    #[serde(default)]
    accept_price_changes: bool,
    /// The waiting room's admission, for a cart with a flash-sale item.
    #[serde(default)]
    admission_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BuyNow {
    shipping_address_id: AddressId,
    #[serde(default)]
    billing_address_id: Option<AddressId>,
    admission_token: String,
}

/// What a checkout took from whose cart, kept until it is paid.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingCheckout {
    buyer: UserId,
    lines: Vec<(CartItemId, u32)>,
}

fn pending_key(checkout: &CheckoutId) -> String {
    format!("checkout:{checkout}")
}

pub async fn initiate(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let claims = buyer(host, request, config)
        .await?
        .ok_or(EdgeError::Unauthenticated)?;
    let input: StartCheckout = json_body(request)?;
    let stored = store::load(host, &CartKey::Buyer(claims.sub))
        .await?
        .filter(|stored| !stored.cart.is_empty())
        .ok_or_else(|| EdgeError::invalid("cart", "the cart is empty"))?;
    let lines = InitiateCheckoutRequest {
        cart_id: Some(stored.cart_id.clone()),
        items: stored
            .cart
            .lines()
            .iter()
            .map(|line| CheckoutItemRequest {
                product_id: line.product_id,
                variant_id: line.variant_id,
                quantity: line.quantity,
                price_at_addition: Some(line.price_at_addition.amount),
            })
            .collect(),
        shipping_address_id: input.shipping_address_id,
        billing_address_id: input.billing_address_id,
        accept_price_changes: input.accept_price_changes,
        admission_token: input.admission_token,
    };
    let answer = send_initiate(host, config, request, &lines).await?;
    if answer.is_success()
        && let Ok(view) = serde_json::from_slice::<CheckoutView>(&answer.body)
    {
        // What the core reserved, not what was sent: those are the lines paying takes away.
        let pending = PendingCheckout {
            buyer: claims.sub,
            lines: view
                .items
                .iter()
                .map(|line| {
                    (
                        CartItemId::new(line.product_id, line.variant_id),
                        line.quantity,
                    )
                })
                .collect(),
        };
        if let Ok(bytes) = serde_json::to_vec(&pending) {
            host.kv_put(&pending_key(&view.checkout_id), bytes)
                .await
                .map_err(EdgeError::Store)?;
        }
    }
    Ok(answer)
}

/// `POST /api/flash-sales/{id}/buy`.
pub async fn buy_now(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    sale: &str,
) -> Result<Response, EdgeError> {
    let sale = FlashSaleId::parse(sale)?;
    let user = buyer(host, request, config)
        .await?
        .ok_or(EdgeError::Unauthenticated)?;
    let input: BuyNow = json_body(request)?;
    if let Some(answer) =
        waiting_room::sold_out_answer(host, config, sale, &input.admission_token, user.sub).await
    {
        return Ok(answer);
    }
    let sale = waiting_room::sale(host, config, sale).await?;
    let checkout = InitiateCheckoutRequest {
        cart_id: None,
        items: vec![CheckoutItemRequest {
            product_id: sale.product_id,
            variant_id: sale.variant_id,
            quantity: 1,
            price_at_addition: None,
        }],
        shipping_address_id: input.shipping_address_id,
        billing_address_id: input.billing_address_id,
        accept_price_changes: false,
        admission_token: Some(input.admission_token),
    };
    send_initiate(host, config, request, &checkout).await
}

/// The checkout, as the core's `POST /api/checkout/initiate` with the buyer's own headers
/// (token, idempotency key).
async fn send_initiate(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    checkout: &InitiateCheckoutRequest,
) -> Result<Response, EdgeError> {
    let body = serde_json::to_vec(checkout)
        .map_err(|e| EdgeError::invalid("checkout", format!("cannot be sent: {e}")))?;
    let mut to_core = request.clone();
    to_core.path = "/api/checkout/initiate".into();
    to_core.query.clear();
    to_core
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    to_core
        .headers
        .push(("content-type".into(), "application/json".into()));
    forward::send(host, config, &to_core, body).await
}

pub async fn pay(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    checkout: &str,
) -> Result<Response, EdgeError> {
    let checkout = CheckoutId::parse(checkout)?;
    let answer = forward::to_core(host, config, request).await?;
    if answer.is_success()
        && let Ok(paid) = serde_json::from_slice::<PayResponse>(&answer.body)
        && paid.payment_status == PaymentStatus::Captured
        && paid.cart_id.is_some()
    {
        // Only a checkout from a cart left lines to take out: a buy-now one has none to look
        // for, and under load every store lookup costs (a Durable Object per key on Workers).
        // The buyer has paid: an error tidying the cart must not turn that into an error
        // page. The lines then stay in the cart, where the buyer sees and can remove them.
        let _ = take_paid_lines(host, config, &checkout).await;
    }
    Ok(answer)
}

/// Takes the paid checkout's lines out of the buyer's cart (lines added since stay).
async fn take_paid_lines(
    host: &impl Host,
    config: &EdgeConfig,
    checkout: &CheckoutId,
) -> Result<(), EdgeError> {
    let key = pending_key(checkout);
    let Some(bytes) = host.kv_get(&key).await.map_err(EdgeError::Store)? else {
        return Ok(());
    };
    if let Ok(pending) = serde_json::from_slice::<PendingCheckout>(&bytes) {
        let cart_key = CartKey::Buyer(pending.buyer);
        if let Some(mut stored) = store::load(host, &cart_key).await? {
            for (item, bought) in pending.lines {
                let Some(line) = stored.cart.line(item) else {
                    continue;
                };
                match line.quantity.saturating_sub(bought) {
                    0 => {
                        stored.cart.remove(item)?;
                    }
                    left => {
                        stored.cart.update_quantity(item, left, QuantityCap::MAX)?;
                    }
                }
            }
            stored.updated_at = host.now();
            store::save(host, config, &cart_key, &stored).await?;
        }
    }
    host.kv_delete(&key).await.map_err(EdgeError::Store)
}

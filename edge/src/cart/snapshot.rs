//! After each change, a copy of the cart goes to the core (`PUT /api/carts/{cartId}`) for
//! backup and analytics. It is sent in the background: the buyer never waits for it, and a
//! snapshot that is lost is replaced by the next one.

use shared_model::api::carts::{CartSnapshot, CartSnapshotLine, CartSnapshotStatus};

use super::store::{CartKey, StoredCart};
use crate::config::EdgeConfig;
use crate::host::{CoreRequest, Host};
use crate::http::Method;

/// The header the core knows the edge by (the core's `EDGESHOP_EDGE_SECRET`).
pub const EDGE_SECRET_HEADER: &str = "x-edge-secret";

pub fn send(
    host: &impl Host,
    config: &EdgeConfig,
    key: &CartKey,
    stored: &StoredCart,
    status: CartSnapshotStatus,
) {
    let Some(secret) = &config.edge_secret else {
        return;
    };
    let snapshot = CartSnapshot {
        user_id: match key {
            CartKey::Buyer(user) => Some(*user),
            CartKey::Guest(_) => None,
        },
        status,
        currency: stored.cart.currency(),
        items: stored
            .cart
            .lines()
            .iter()
            .map(|line| CartSnapshotLine {
                product_id: line.product_id,
                variant_id: line.variant_id,
                quantity: line.quantity,
                price_at_addition: line.price_at_addition.amount,
            })
            .collect(),
        updated_at: stored.updated_at,
    };
    let Ok(body) = serde_json::to_vec(&snapshot) else {
        return;
    };
    host.send_in_background(
        CoreRequest {
            method: Method::Put,
            url: format!("{}/api/carts/{}", config.core_url, stored.cart_id),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (EDGE_SECRET_HEADER.into(), secret.clone()),
            ],
            body,
        },
        config.core_timeout,
    );
}

//! Carts in the runtime's key-value store: a guest's under its cart id, a buyer's under the
//! user id, so the buyer's cart follows them across devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_model::cart::{Cart, is_guest_cart_expired};
use shared_model::ids::{CartId, UserId};

use shared_model::api::carts::CartSnapshotStatus;

use super::snapshot;
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCart {
    pub cart_id: CartId,
    pub cart: Cart,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartKey {
    Guest(CartId),
    Buyer(UserId),
}

impl CartKey {
    fn key(&self) -> String {
        match self {
            CartKey::Guest(id) => format!("cart:guest:{id}"),
            CartKey::Buyer(user) => format!("cart:user:{user}"),
        }
    }
}

/// The cart, `None` when there is none (or a guest's expired).
pub async fn load(host: &impl Host, key: &CartKey) -> Result<Option<StoredCart>, EdgeError> {
    let Some(bytes) = host.kv_get(&key.key()).await.map_err(EdgeError::Store)? else {
        return Ok(None);
    };
    // A stored cart that no longer parses (or breaks the cart's rules) is not the buyer's
    // fault: it is treated as empty rather than failing every request for it.
    let Ok(stored) = serde_json::from_slice::<StoredCart>(&bytes) else {
        return Ok(None);
    };
    if matches!(key, CartKey::Guest(_)) && is_guest_cart_expired(stored.updated_at, host.now()) {
        return Ok(None);
    }
    Ok(Some(stored))
}

/// Stores the cart, then sends the core its snapshot.
pub async fn save(
    host: &impl Host,
    config: &EdgeConfig,
    key: &CartKey,
    cart: &StoredCart,
) -> Result<(), EdgeError> {
    let bytes = serde_json::to_vec(cart)
        .map_err(|e| EdgeError::Store(crate::host::HostError::Store(e.to_string())))?;
    host.kv_put(&key.key(), bytes)
        .await
        .map_err(EdgeError::Store)?;
    snapshot::send(host, config, key, cart, CartSnapshotStatus::Active);
    Ok(())
}

pub async fn delete(host: &impl Host, key: &CartKey) -> Result<(), EdgeError> {
    host.kv_delete(&key.key()).await.map_err(EdgeError::Store)
}

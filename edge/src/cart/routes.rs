//! The cart API of seed 2.2, answered at the edge: `POST /api/cart/items`, `GET /api/cart`,
//! `PUT` and `DELETE /api/cart/items/{itemId}`.

use serde::{Deserialize, Serialize};
use shared_model::Currency;
use shared_model::cart::{AddOutcome, Cart, CartItemId, CartLine, CartView, CartViewLine};
use shared_model::ids::{CartId, ProductId, VariantId};

use super::lines::purchasable;
use super::owner::{CART_COOKIE, CartOwner, owner};
use super::store::{self, CartKey, StoredCart};
use super::today::Catalog;
use crate::catalog::{self, CachedProduct};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Request, Response};
use crate::json_body;

/// A guest cart's cookie lives as long as the cart does (30 days).
const COOKIE_MAX_AGE: i64 = shared_model::cart::GUEST_CART_TTL_DAYS * 24 * 60 * 60;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddItem {
    product_id: ProductId,
    #[serde(default)]
    variant_id: Option<VariantId>,
    quantity: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetQuantity {
    quantity: u32,
}

/// The cart at today's prices (seed 2.2: `cartId`, `items`, `subtotal`, `itemCount`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartAnswer {
    /// None for a guest who has no cart yet.
    pub cart_id: Option<CartId>,
    pub currency: Currency,
    pub items: Vec<CartViewLine>,
    pub subtotal: shared_model::Money,
    pub item_count: u32,
    pub has_price_changes: bool,
    pub has_unavailable_lines: bool,
    /// What the add did (summed with a line already there, cut to the cap).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub added: Option<AddOutcome>,
}

impl CartAnswer {
    pub fn new(cart_id: Option<CartId>, view: CartView, added: Option<AddOutcome>) -> Self {
        CartAnswer {
            cart_id,
            currency: view.currency,
            items: view.lines,
            subtotal: view.subtotal,
            item_count: view.item_count,
            has_price_changes: view.has_price_changes,
            has_unavailable_lines: view.has_unavailable_lines,
            added,
        }
    }
}

/// The cart a request names, and the key it is stored under.
struct Located {
    key: Option<CartKey>,
    stored: Option<StoredCart>,
}

async fn locate(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Located, EdgeError> {
    let key = match owner(host, request, config).await? {
        CartOwner::Buyer(user) => Some(CartKey::Buyer(user)),
        CartOwner::Guest(Some(id)) => Some(CartKey::Guest(id)),
        CartOwner::Guest(None) => None,
    };
    let stored = match &key {
        Some(key) => store::load(host, key).await?,
        None => None,
    };
    Ok(Located { key, stored })
}

pub async fn get_cart(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let (cart_id, cart) = current(host, config, request).await?;
    let view = view(host, config, &cart).await?;
    Ok(Response::json(200, &CartAnswer::new(cart_id, view, None)))
}

/// The request's cart (empty for a guest who has none yet) and its id.
pub async fn current(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<(Option<CartId>, Cart), EdgeError> {
    let located = locate(host, config, request).await?;
    Ok(match located.stored {
        Some(stored) => (Some(stored.cart_id), stored.cart),
        None => (guest_id(&located.key), Cart::new(Currency::USD)),
    })
}

pub async fn add_item(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let input: AddItem = json_body(request)?;
    let edited = add_line(
        host,
        config,
        request,
        input.product_id,
        input.variant_id,
        input.quantity,
    )
    .await?;
    let view = view(host, config, &edited.stored.cart).await?;
    let answer = CartAnswer::new(Some(edited.stored.cart_id.clone()), view, edited.added);
    Ok(with_cookie(
        Response::json(200, &answer),
        &edited.key,
        &edited.stored.cart_id,
    ))
}

/// A cart after an edit, as stored.
pub struct Edited {
    pub key: CartKey,
    pub stored: StoredCart,
    pub added: Option<AddOutcome>,
}

/// Adds a line (summed with the same product and variant, cut to the cap) at the catalog's
/// price, creating the guest's cart if there is none yet.
pub async fn add_line(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    product_id: ProductId,
    variant_id: Option<VariantId>,
    quantity: u32,
) -> Result<Edited, EdgeError> {
    // Quantities no product allows are refused before anything is looked up.
    if quantity == 0 || quantity > shared_model::cart::ABSOLUTE_MAX_QUANTITY_PER_LINE {
        return Err(EdgeError::invalid(
            "quantity",
            format!(
                "must be between 1 and {}",
                shared_model::cart::ABSOLUTE_MAX_QUANTITY_PER_LINE
            ),
        ));
    }
    let product = product_for_cart(host, config, product_id).await?;
    let (cap, price) = purchasable(&product.product, variant_id)?;
    if quantity > cap.get() {
        return Err(EdgeError::invalid(
            "quantity",
            format!("must be between 1 and {cap}"),
        ));
    }
    let located = locate(host, config, request).await?;
    let now = host.now();
    let (key, mut stored) = match located {
        Located {
            key: Some(key),
            stored: Some(stored),
        } => (key, stored),
        Located { key, .. } => {
            let cart_id =
                guest_id(&key).unwrap_or_else(|| CartId::from_random(host.random_bytes()));
            let key = key.unwrap_or_else(|| CartKey::Guest(cart_id.clone()));
            let stored = StoredCart {
                cart_id,
                cart: Cart::new(price.currency),
                updated_at: now,
            };
            (key, stored)
        }
    };
    if stored.cart.is_empty() && stored.cart.currency() != price.currency {
        stored.cart = Cart::new(price.currency);
    }
    let added = stored.cart.add(
        CartLine {
            product_id,
            variant_id,
            quantity,
            price_at_addition: price,
            added_at: now,
        },
        cap,
    )?;
    stored.updated_at = now;
    store::save(host, config, &key, &stored).await?;
    Ok(Edited {
        key,
        stored,
        added: Some(added),
    })
}

/// What a buyer may do to a line already in the cart.
pub enum LineChange {
    SetQuantity(u32),
    Remove,
}

/// Changes a line of the request's cart and stores the cart.
pub async fn change_line(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    item: CartItemId,
    change: LineChange,
) -> Result<Edited, EdgeError> {
    let (key, mut stored) = existing(host, config, request, &item).await?;
    match change {
        LineChange::SetQuantity(quantity) => {
            let line = stored
                .cart
                .line(item)
                .cloned()
                .ok_or_else(|| not_in_cart(&item))?;
            let product = product_for_cart(host, config, line.product_id).await?;
            let (cap, _) = purchasable(&product.product, line.variant_id)?;
            stored.cart.update_quantity(item, quantity, cap)?;
        }
        LineChange::Remove => {
            stored.cart.remove(item)?;
        }
    }
    stored.updated_at = host.now();
    store::save(host, config, &key, &stored).await?;
    Ok(Edited {
        key,
        stored,
        added: None,
    })
}

pub async fn set_quantity(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    item: &str,
) -> Result<Response, EdgeError> {
    let item = CartItemId::parse(item)?;
    let input: SetQuantity = json_body(request)?;
    let edited = change_line(
        host,
        config,
        request,
        item,
        LineChange::SetQuantity(input.quantity),
    )
    .await?;
    answer(host, config, edited.stored).await
}

pub async fn remove_item(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    item: &str,
) -> Result<Response, EdgeError> {
    let item = CartItemId::parse(item)?;
    let edited = change_line(host, config, request, item, LineChange::Remove).await?;
    answer(host, config, edited.stored).await
}

/// The cart at today's prices.
async fn answer(
    host: &impl Host,
    config: &EdgeConfig,
    stored: StoredCart,
) -> Result<Response, EdgeError> {
    let view = view(host, config, &stored.cart).await?;
    Ok(Response::json(
        200,
        &CartAnswer::new(Some(stored.cart_id), view, None),
    ))
}

/// The cart that must hold `item`: a request without a cart has no such line.
async fn existing(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    item: &CartItemId,
) -> Result<(CartKey, StoredCart), EdgeError> {
    let located = locate(host, config, request).await?;
    match (located.key, located.stored) {
        (Some(key), Some(stored)) => Ok((key, stored)),
        _ => Err(not_in_cart(item)),
    }
}

fn not_in_cart(item: &CartItemId) -> EdgeError {
    EdgeError::NotFound(format!("cart item {item}"))
}

/// A product a buyer may act on: unknown products are a 404, never a call that reaches the
/// core's checkout.
async fn product_for_cart(
    host: &impl Host,
    config: &EdgeConfig,
    id: ProductId,
) -> Result<CachedProduct, EdgeError> {
    catalog::product(host, config, id)
        .await?
        .ok_or_else(|| EdgeError::NotFound(format!("product {id}")))
}

/// The cart at today's prices, each product looked up once.
pub async fn view(
    host: &impl Host,
    config: &EdgeConfig,
    cart: &Cart,
) -> Result<CartView, EdgeError> {
    let today = Catalog::for_lines(host, config, cart.lines()).await;
    Ok(cart.view(|product, variant| today.availability(product, variant))?)
}

fn guest_id(key: &Option<CartKey>) -> Option<CartId> {
    match key {
        Some(CartKey::Guest(id)) => Some(id.clone()),
        _ => None,
    }
}

/// A guest's cart id goes back in a cookie so browsing without JS keeps the cart.
pub fn with_cookie(response: Response, key: &CartKey, cart_id: &CartId) -> Response {
    match key {
        CartKey::Guest(_) => response.with_header(
            "set-cookie",
            &format!(
                "{CART_COOKIE}={cart_id}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax"
            ),
        ),
        CartKey::Buyer(_) => response,
    }
}

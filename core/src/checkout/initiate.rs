//! `POST /api/checkout/initiate`: validate the lines against the catalog, price them from the
//! source of truth, reserve the stock, and create the PENDING order and its saga (seed 7.1, 7.9).
//!
//! Nothing the client says about prices is charged: its `priceAtAddition` only decides whether a
//! rise must be re-confirmed. The reservation comes first and everything else is written in one
//! transaction after it, so a sold-out buyer costs no writes; a crash in between leaves a
//! reservation without a saga, which the expiry sweep releases.

use std::collections::HashMap;

use chrono::{SubsecRound, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use shared_model::api::checkout::{
    CheckoutLine, CheckoutView, InitiateCheckoutRequest, MAX_CHECKOUT_LINES, PriceChangeNotice,
    ShortItem,
};
use shared_model::events::{CheckoutInitiated, CheckoutItem, InventoryReserved, ReservedItem};
use shared_model::ids::{ProductId, SagaId, VariantId, WarehouseId};
use shared_model::order::{OrderNumber, SagaStep};
use shared_model::pricing::price_change;
use shared_model::{Currency, ModelError};

use super::saga_log::NewSaga;
use super::store::{self, NewCheckout, Purchasable};
use super::{crash_point, progress, view};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::flash_sales::purchase;
use crate::inventory::reservation_store;
use crate::inventory::reservations::{
    Allocation, LineRequest, ReleaseKind, ReserveOutcome, ReserveRequest, ShipTo,
};
use crate::orders::store::{NewOrder, NewOrderItem};
use crate::outbox::{self, Queued};
use crate::pricing::{self, LineToPrice};
use crate::state::AppState;
use crate::users;

/// A validated line: what is bought and at which list prices.
struct Line {
    product: Purchasable,
    quantity: u32,
    seen_price: Option<Decimal>,
}

impl Line {
    fn product_id(&self) -> ProductId {
        ProductId::new(self.product.product_id)
    }

    fn variant_id(&self) -> Option<VariantId> {
        self.product.variant_id.map(VariantId::new)
    }
}

pub async fn initiate(
    state: &AppState,
    user: CurrentUser,
    request: InitiateCheckoutRequest,
    correlation_id: &str,
) -> ApiResult<CheckoutView> {
    // The reads, one after another on one connection: each connection handed back to the pool
    // costs a round trip of its own (the pool checks it), which under load cost more than
    // running the reads side by side saved. The lines' answer comes first when both are wrong.
    let mut conn = state.db.acquire().await?;
    let lines = validate_lines(&mut conn, &request).await?;
    let shipping =
        users::store::get_address(&mut *conn, user.user_id, request.shipping_address_id).await?;
    let billing_id = request
        .billing_address_id
        .unwrap_or(request.shipping_address_id);
    if billing_id != request.shipping_address_id {
        users::store::get_address(&mut *conn, user.user_id, billing_id).await?;
    }
    let rates = pricing::store::rates(&mut *conn, &shipping.country, &shipping.state).await?;
    drop(conn);
    let currency: Currency = lines[0].product.currency.parse()?;
    if lines
        .iter()
        .any(|l| l.product.currency != currency.as_str())
    {
        return Err(ModelError::invalid(
            "items",
            "all items of one checkout must be priced in one currency",
        )
        .into());
    }

    // A line on a live flash sale needs the waiting room's admission, and is priced by the sale.
    let now = Utc::now();
    let wanted: Vec<(ProductId, Option<VariantId>, u32)> = lines
        .iter()
        .map(|l| (l.product_id(), l.variant_id(), l.quantity))
        .collect();
    let sale_line = purchase::admitted_line(
        state,
        user.user_id,
        &wanted,
        request.admission_token.as_deref(),
        now,
    )
    .await?;

    let breakdown = pricing::quote(
        &rates,
        currency,
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineToPrice {
                key: i.to_string(),
                unit_base_price: l.product.base_price + l.product.price_modifier,
                sale_price: match &sale_line {
                    Some(sale) if sale.line == i => Some(sale.sale.sale_price),
                    _ => l.product.sale_price.map(|s| s + l.product.price_modifier),
                },
                quantity: l.quantity,
            })
            .collect(),
    )?;
    let notices = price_notices(&lines, &breakdown.lines);
    let needs_confirmation: Vec<&PriceChangeNotice> = notices
        .iter()
        .filter(|n| n.change.needs_confirmation())
        .collect();
    if !needs_confirmation.is_empty() && !request.accept_price_changes {
        return Err(ApiError::Detailed {
            status: axum::http::StatusCode::CONFLICT,
            code: "price_changed",
            message: "prices rose by more than 5% since these items were added; confirm the new prices with acceptPriceChanges".into(),
            details: json!({ "priceChanges": needs_confirmation }),
        });
    }

    let checkout = super::new_checkout_id();
    let saga = SagaId::for_checkout(checkout);
    // A flash-sale unit is held for the sale's token TTL, not the usual 15 minutes.
    let hold = match &sale_line {
        Some(sale) => state
            .config
            .checkout_ttl
            .min(std::time::Duration::from_secs(u64::from(
                sale.sale.settings().token_ttl_seconds,
            ))),
        None => state.config.checkout_ttl,
    };
    // To the microsecond, as PostgreSQL keeps it: every copy of the deadline is the same.
    let expires_at = (Utc::now()
        + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::minutes(15)))
    .trunc_subsecs(6);
    let claim = match &sale_line {
        Some(sale) => Some(purchase::claim(state, sale, checkout, user.user_id, expires_at).await?),
        None => None,
    };
    let reservation = ReserveRequest {
        saga,
        checkout,
        cart_id: request.cart_id.as_ref().map(|c| c.to_string()),
        lines: lines
            .iter()
            .map(|l| LineRequest {
                product: l.product_id(),
                variant: l.variant_id(),
                quantity: l.quantity,
            })
            .collect(),
        ship_to: ShipTo {
            country: shipping.country.clone(),
            state: shipping.state.clone(),
        },
        expires_at,
    };
    let reserved = state.reservations.reserve(&reservation).await;
    if let (Some(claim), Ok(ReserveOutcome::Short(_)) | Err(_)) = (&claim, &reserved) {
        claim.give_back(state).await;
    }
    let allocations = match reserved? {
        ReserveOutcome::Reserved(allocations) => allocations,
        ReserveOutcome::Short(short) => {
            let items: Vec<ShortItem> = short
                .iter()
                .map(|s| ShortItem {
                    product_id: lines[s.line].product_id(),
                    variant_id: lines[s.line].variant_id(),
                    requested: s.requested,
                    available: s.available,
                })
                .collect();
            return Err(ApiError::Detailed {
                status: axum::http::StatusCode::CONFLICT,
                code: "out_of_stock",
                message: "not enough stock for some items; nothing was reserved".into(),
                details: json!({ "items": items }),
            });
        }
    };
    crash_point(state, SagaStep::ReserveInventory);

    // The only warehouse of a line, when its units all come from one.
    let mut warehouses: HashMap<usize, Vec<WarehouseId>> = HashMap::new();
    for a in &allocations {
        warehouses.entry(a.line).or_default().push(a.warehouse_id);
    }
    let now = Utc::now();
    let order_number = OrderNumber::for_saga(saga, now);
    let items: Vec<NewOrderItem> = lines
        .iter()
        .zip(&breakdown.lines)
        .enumerate()
        .map(|(i, (line, priced))| NewOrderItem {
            product_id: line.product.product_id,
            variant_id: line.product.variant_id,
            seller_id: line.product.seller_id,
            warehouse_id: match warehouses.get(&i).map(Vec::as_slice) {
                Some([only]) => Some(only.get()),
                _ => None,
            },
            quantity: line.quantity as i32,
            unit_price: priced.unit_price,
            discount: priced.coupon_discount + priced.member_discount,
            total: priced.line_total,
        })
        .collect();
    // The order, its saga, their events and a flash-sale line's claim, group-committed with
    // other buyers' (`recording`). If it fails, a flash-sale claim is undone at once (other
    // checkouts' leftovers are released by the expiry sweep).
    let written = async {
        let reserved_items = reserved_items(state, saga, &lines, &allocations).await?;
        let initiated = CheckoutInitiated {
            user_id: user.user_id,
            cart_id: request.cart_id.clone(),
            items: lines
                .iter()
                .zip(&breakdown.lines)
                .map(|(l, p)| CheckoutItem {
                    product_id: l.product_id(),
                    variant_id: l.variant_id(),
                    quantity: l.quantity,
                    unit_price: p.unit_price,
                })
                .collect(),
            total_amount: breakdown.total,
            currency,
            shipping_address_id: request.shipping_address_id,
        };
        let events = [
            Queued::new(&outbox::envelope(initiated, Some(saga), correlation_id))?,
            Queued::new(&outbox::envelope(
                InventoryReserved {
                    items: reserved_items.clone(),
                    expires_at,
                },
                Some(saga),
                correlation_id,
            ))?,
        ];
        let recorded = NewCheckout {
            order: NewOrder {
                order_number: order_number.as_str().to_owned(),
                user: user.user_id,
                saga,
                checkout,
                subtotal: breakdown.subtotal,
                discount: breakdown.discount,
                tax: breakdown.tax,
                shipping: breakdown.shipping,
                total: breakdown.total,
                currency: currency.as_str().to_owned(),
                shipping_address_id: request.shipping_address_id.get(),
                billing_address_id: billing_id.get(),
                shipping_address: serde_json::to_value(&shipping).unwrap_or_default(),
                items,
            },
            saga: NewSaga {
                saga,
                checkout,
                user: user.user_id,
                payload: json!({ "cartId": request.cart_id, "priceChanges": notices }),
                expires_at,
                reserved: json!({ "items": reserved_items }),
            },
            events: events.into(),
            claim: claim.as_ref().map(|c| c.record(saga, expires_at)),
        };
        state.recorder.record(recorded).await
    }
    .await;
    let order = match written {
        Ok(order) => order,
        Err(err) => {
            if let Some(claim) = &claim {
                if let Err(release) = state
                    .reservations
                    .release(saga, ReleaseKind::Released)
                    .await
                {
                    tracing::warn!(error = %release, %saga, "could not release a failed flash-sale checkout; the sweep will");
                }
                claim.give_back(state).await;
            }
            return Err(err);
        }
    };
    let items = lines
        .iter()
        .zip(&breakdown.lines)
        .map(|(line, priced)| CheckoutLine {
            product_id: line.product_id(),
            variant_id: line.variant_id(),
            name: line.product.name.clone(),
            sku: line.product.sku.clone(),
            quantity: line.quantity,
            unit_price: priced.unit_price,
            line_total: priced.line_total,
        })
        .collect();
    // What `view::load` would read back, without reading it back.
    Ok(view::just_reserved(
        checkout,
        order,
        order_number,
        items,
        &breakdown,
        expires_at,
        notices,
    ))
}

/// What the reservation holds, for its event: from the ids the durable write reported, or read
/// back when it did not report them (a retried write, or the row-lock path without Redis).
async fn reserved_items(
    state: &AppState,
    saga: SagaId,
    lines: &[Line],
    allocations: &[Allocation],
) -> ApiResult<Vec<ReservedItem>> {
    let known: Option<Vec<ReservedItem>> = allocations
        .iter()
        .map(|a| {
            let line = lines.get(a.line)?;
            Some(ReservedItem {
                reservation_id: a.reservation_id?,
                product_id: line.product_id(),
                variant_id: line.variant_id(),
                warehouse_id: a.warehouse_id,
                quantity_reserved: a.quantity,
            })
        })
        .collect();
    if let Some(mut items) = known {
        items.sort_by_key(|i| i.reservation_id);
        return Ok(items);
    }
    let mut conn = state.db.acquire().await?;
    let reserved = reservation_store::reserved_rows(&mut conn, saga).await?;
    Ok(progress::reserved_items(&reserved))
}

/// Checks every line against the catalog: known, on sale, variant valid, within the cap.
/// Repeated lines of one product and variant are merged first.
async fn validate_lines(
    conn: &mut sqlx::PgConnection,
    request: &InitiateCheckoutRequest,
) -> ApiResult<Vec<Line>> {
    if request.items.is_empty() {
        return Err(ModelError::invalid("items", "a checkout needs at least one item").into());
    }
    if request.items.len() > MAX_CHECKOUT_LINES {
        return Err(
            ModelError::invalid("items", format!("at most {MAX_CHECKOUT_LINES} lines")).into(),
        );
    }
    let mut merged: Vec<(ProductId, Option<VariantId>, u32, Option<Decimal>)> = Vec::new();
    for (i, item) in request.items.iter().enumerate() {
        if item.quantity == 0 {
            return Err(
                ModelError::invalid(format!("items[{i}].quantity"), "must be at least 1").into(),
            );
        }
        match merged
            .iter_mut()
            .find(|(p, v, ..)| *p == item.product_id && *v == item.variant_id)
        {
            Some(existing) => existing.2 = existing.2.saturating_add(item.quantity),
            None => merged.push((
                item.product_id,
                item.variant_id,
                item.quantity,
                item.price_at_addition,
            )),
        }
    }
    let keys: Vec<(ProductId, Option<VariantId>)> =
        merged.iter().map(|(p, v, ..)| (*p, *v)).collect();
    let found = store::purchasables(conn, &keys).await?;
    merged
        .into_iter()
        .map(|(product_id, variant_id, quantity, seen_price)| {
            let product = found
                .iter()
                .find(|f| {
                    f.product_id == product_id.get()
                        && f.variant_id == variant_id.map(VariantId::get)
                })
                .cloned()
                .ok_or_else(|| {
                    ApiError::unprocessable("unknown_product", format!("no product {product_id}"))
                })?;
            if product.status != "ACTIVE" {
                return Err(ApiError::unprocessable(
                    "product_unavailable",
                    format!("{} is not for sale", product.name),
                ));
            }
            if !product.variant_ok || (product.has_variants && variant_id.is_none()) {
                return Err(ApiError::unprocessable(
                    "unknown_variant",
                    format!("{} needs a valid variantId", product.name),
                ));
            }
            let cap = u32::try_from(product.max_quantity_per_order).unwrap_or(1);
            if quantity > cap {
                return Err(ModelError::invalid(
                    "items",
                    format!("at most {cap} of {} per order", product.name),
                )
                .into());
            }
            Ok(Line {
                product,
                quantity,
                seen_price,
            })
        })
        .collect()
}

/// Lines whose unit price moved since the buyer saw it.
fn price_notices(
    lines: &[Line],
    priced: &[shared_model::pricing::PricedLine],
) -> Vec<PriceChangeNotice> {
    lines
        .iter()
        .zip(priced)
        .filter_map(|(line, priced)| {
            let previous = line.seen_price?;
            let change = price_change(previous, priced.unit_price);
            change.is_changed().then(|| PriceChangeNotice {
                product_id: line.product_id(),
                variant_id: line.variant_id(),
                previous,
                current: priced.unit_price,
                change,
            })
        })
        .collect()
}

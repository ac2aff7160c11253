//! `POST /api/checkout/initiate`: validate the lines against the catalog, price them from the
//! source of truth, reserve the stock, and create the PENDING order and its saga (seed 7.1, 7.9).
//!
//! Nothing the client says about prices is charged: its `priceAtAddition` only decides whether a
//! rise must be re-confirmed. A flash-sale line's purchase token is claimed first, so a buyer
//! of a sold-out sale costs no reads; the reservation comes next and everything else is
//! written in one transaction after it, so a sold-out buyer costs no writes; a crash in between
//! leaves a reservation without a saga, which the expiry sweep releases.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::json;
use shared_model::api::checkout::{
    CheckoutLine, CheckoutView, InitiateCheckoutRequest, PriceChangeNotice, ShortItem,
};
use shared_model::events::{CheckoutInitiated, CheckoutItem, InventoryReserved, ReservedItem};
use shared_model::ids::{CheckoutId, SagaId, WarehouseId};
use shared_model::order::{OrderNumber, SagaStep};
use shared_model::{Currency, ModelError};

use super::lines::{self, Line};
use super::saga_log::NewSaga;
use super::store::NewCheckout;
use super::{crash_point, progress, view};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::flash_sales::purchase::{self, SaleLine};
use crate::inventory::reservation_store;
use crate::inventory::reservations::{
    Allocation, LineRequest, ReleaseKind, ReserveOutcome, ReserveRequest, ShipTo,
};
use crate::orders::store::{NewOrder, NewOrderItem};
use crate::outbox::{self, Queued};
use crate::pricing::{self, LineToPrice};
use crate::state::AppState;
use crate::users;

pub async fn initiate(
    state: &AppState,
    user: CurrentUser,
    request: InitiateCheckoutRequest,
    correlation_id: &str,
) -> ApiResult<CheckoutView> {
    let wanted = lines::wanted(&request)?;

    // A line on a live flash sale needs the waiting room's admission, is priced by the sale,
    // and claims its purchase token before anything is read: once the pool is empty, every
    // further buyer hears "sold out" without costing the catalog, address and rate reads.
    let sale_line = purchase::admitted_line(
        state,
        user.user_id,
        &wanted,
        request.admission_token.as_deref(),
        Utc::now(),
    )
    .await?;
    let checkout = super::new_checkout_id();
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
    let initiated = initiate_claimed(
        state,
        &user,
        &request,
        &wanted,
        Claimed {
            checkout,
            expires_at,
            sale_line: sale_line.as_ref(),
            claim: claim.as_ref(),
        },
        correlation_id,
    )
    .await;
    if let (Err(_), Some(claim)) = (&initiated, &claim) {
        // Nothing holds the tokens any more: they go back, and the admission may try again.
        claim.give_back(state).await;
    }
    initiated
}

/// What the checkout holds before it reads anything.
struct Claimed<'a> {
    checkout: CheckoutId,
    expires_at: DateTime<Utc>,
    sale_line: Option<&'a SaleLine>,
    claim: Option<&'a purchase::Claim>,
}

/// The checkout once its flash-sale tokens, if any, are claimed. On every refusal nothing of it
/// holds the tokens: no reservation, or one released again.
async fn initiate_claimed(
    state: &AppState,
    user: &CurrentUser,
    request: &InitiateCheckoutRequest,
    wanted: &[lines::Wanted],
    claimed: Claimed<'_>,
    correlation_id: &str,
) -> ApiResult<CheckoutView> {
    let Claimed {
        checkout,
        expires_at,
        sale_line,
        claim,
    } = claimed;
    // The reads, one after another on one connection: each connection handed back to the pool
    // costs a round trip of its own (the pool checks it), which under load cost more than
    // running the reads side by side saved. The lines' answer comes first when both are wrong.
    let mut conn = state.db.acquire().await?;
    let lines = lines::in_catalog(&mut conn, wanted).await?;
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
    let notices = lines::price_notices(&lines, &breakdown.lines);
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

    let saga = SagaId::for_checkout(checkout);
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
    let allocations = match state.reservations.reserve(&reservation).await? {
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
            claim: claim.map(|c| c.record(saga, expires_at)),
        };
        state.recorder.record(recorded).await
    }
    .await;
    let order = match written {
        Ok(order) => order,
        Err(err) => {
            // The caller gives the claim's tokens back once the unit is free again.
            if claim.is_some()
                && let Err(release) = state
                    .reservations
                    .release(saga, ReleaseKind::Released)
                    .await
            {
                tracing::warn!(error = %release, %saga, "could not release a failed flash-sale checkout; the sweep will");
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

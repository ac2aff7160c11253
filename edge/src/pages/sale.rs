//! The waiting room's page: `GET /sale/{id}` shows the sale and where the buyer stands (it
//! refreshes itself while they wait), `POST /sale/{id}/join` takes a place in the queue, and
//! `POST /sale/{id}/buy`, once admitted, puts the item in the cart and goes to checkout with
//! the admission.

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use shared_model::Currency;
use shared_model::api::flash_sales::FlashSaleView;
use shared_model::flash_sale::whole_seconds_until;
use shared_model::ids::FlashSaleId;

use super::format::money;
use super::layout::{page, respond};
use super::session::{self, redirect, sign_in_first, signed_in};
use crate::cart::{owner, routes as cart};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Method, Request, Response};
use crate::waiting_room::{self, QueueState, QueueStatus};

/// The cookie the checkout form finds the admission in.
pub const ADMISSION_COOKIE: &str = "admission";

fn ticket_cookie(sale: FlashSaleId) -> String {
    format!("queue_{sale}")
}

/// `GET /sale/{id}`.
pub async fn show(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = FlashSaleId::parse(id)?;
    let sale = waiting_room::sale(host, config, id).await?;
    let buyer = owner::buyer(host, request, config).await.ok().flatten();
    let ticket = request.cookie(&ticket_cookie(id)).filter(|t| !t.is_empty());
    let status = match (&buyer, ticket) {
        (Some(claims), Some(ticket)) => {
            Some(waiting_room::status(host, config, id, ticket, claims.sub).await?)
        }
        _ => None,
    };
    let body = html! {
        (summary(&sale))
        @match (&buyer, &status) {
            (None, _) => {
                p { a href={ "/login?next=/sale/" (id) } { "Sign in to join the queue" } }
            }
            (Some(_), None) => {
                form method="post" action={ "/sale/" (id) "/join" } {
                    button type="submit" { "Join the queue" }
                }
            }
            (Some(_), Some(status)) => (standing(id, &sale, status, host.now())),
        }
    };
    let refresh = status.as_ref().and_then(|s| s.refresh_after_seconds);
    let content = html! {
        @if let Some(seconds) = refresh {
            meta http-equiv="refresh" content=(seconds);
        }
        (body)
    };
    Ok(respond(
        200,
        page(&sale.product_name, content),
        "private, no-store",
    ))
}

fn summary(sale: &FlashSaleView) -> Markup {
    let currency: Currency = sale.currency.parse().unwrap_or(Currency::USD);
    html! {
        h1 { "Flash sale: " (sale.product_name) }
        p {
            span.price { (money(sale.sale_price, currency)) }
            " instead of " del { (money(sale.regular_price, currency)) }
            " · at most " (sale.per_buyer_limit) " per buyer"
        }
        p { "Starts " time datetime=(sale.starts_at.to_rfc3339()) { (sale.starts_at.format("%Y-%m-%d %H:%M:%S UTC")) }
            " · " (sale.units_left) " of " (sale.units) " left" }
    }
}

fn standing(
    id: FlashSaleId,
    sale: &FlashSaleView,
    status: &QueueStatus,
    now: DateTime<Utc>,
) -> Markup {
    let currency: Currency = sale.currency.parse().unwrap_or(Currency::USD);
    html! {
        @match status.state {
            QueueState::NotStarted => {
                p role="status" { "You are in the queue. When the sale starts, everyone who joined before it is placed by lottery, so there is no need to hurry or to refresh." }
                @if let Some(after_start) = turn_after_start(status, now) {
                    p { "By the lottery among those who joined so far, your turn comes about " (wait_text(after_start)) " after the start. This page refreshes itself." }
                }
            }
            QueueState::Waiting => {
                p role="status" {
                    "About " strong { (status.position.unwrap_or(0)) } " buyers ahead of you"
                    @if let Some(wait) = status.estimated_wait_seconds {
                        ", about " (wait_text(wait)) " to go"
                    }
                    ". This page refreshes itself."
                }
            }
            QueueState::Admitted => {
                p role="status" { "It is your turn." }
                form method="post" action={ "/sale/" (id) "/buy" } {
                    button type="submit" { "Buy now for " (money(sale.sale_price, currency)) }
                }
            }
            QueueState::SoldOut => {
                p role="status" { "Sold out for now. Units other buyers hold may come back; stay in the queue." }
            }
            QueueState::Closed => {
                p role="status" { "This sale is over." }
            }
        }
    }
}

/// Before the start, the estimated wait less the time until the start.
fn turn_after_start(status: &QueueStatus, now: DateTime<Utc>) -> Option<u64> {
    let until_start = whole_seconds_until(status.starts_at, now);
    Some(status.estimated_wait_seconds?.saturating_sub(until_start))
}

fn wait_text(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        _ => format!("{} min", seconds.div_ceil(60)),
    }
}

/// `POST /sale/{id}/join`: the ticket goes in a cookie for this sale's page. The edge gives
/// it where it holds the admission key; otherwise the core does.
pub async fn join(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = FlashSaleId::parse(id)?;
    let back = format!("/sale/{id}");
    let ticket = match &config.admission_key {
        // The edge gives the ticket, as the JSON API's join does.
        Some(key) => {
            let Some(claims) = owner::buyer(host, request, config).await.ok().flatten() else {
                return Ok(sign_in_first(&back));
            };
            waiting_room::give_ticket(host, config, key, id, claims.sub)
                .await?
                .ok_or_else(waiting_room::sale_closed)?
                .joined
                .ticket
        }
        None => {
            let Some(token) = signed_in(host, config, request).await else {
                return Ok(sign_in_first(&back));
            };
            let joined = session::core(
                host,
                config,
                Some(token),
                Method::Post,
                &format!("/api/flash-sales/{id}/queue"),
                None::<&()>,
                None,
            )
            .await?;
            if !joined.is_success() {
                return Err(joined.into_error());
            }
            joined.body["ticket"]
                .as_str()
                .ok_or_else(|| EdgeError::CoreAnswer("a queue without a ticket".into()))?
                .to_owned()
        }
    };
    Ok(redirect(&back).with_header(
        "set-cookie",
        &format!(
            "{}={ticket}; Path=/sale/{id}; Max-Age=86400; HttpOnly; SameSite=Lax",
            ticket_cookie(id)
        ),
    ))
}

/// `POST /sale/{id}/buy`: only with an admission; the item goes in the cart and the buyer
/// to checkout, the admission in a cookie the checkout form reads.
pub async fn buy(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = FlashSaleId::parse(id)?;
    let back = format!("/sale/{id}");
    let (Some(claims), Some(ticket)) = (
        owner::buyer(host, request, config).await.ok().flatten(),
        request.cookie(&ticket_cookie(id)),
    ) else {
        return Ok(redirect(&back));
    };
    let status = waiting_room::status(host, config, id, ticket, claims.sub).await?;
    let Some(admission) = status
        .admission_token
        .filter(|_| status.state == QueueState::Admitted)
    else {
        return Ok(redirect(&back));
    };
    let sale = waiting_room::sale(host, config, id).await?;
    cart::add_line(host, config, request, sale.product_id, sale.variant_id, 1).await?;
    Ok(redirect("/checkout").with_header(
        "set-cookie",
        &format!(
            "{ADMISSION_COOKIE}={admission}; Path=/checkout; Max-Age={}; HttpOnly; SameSite=Lax",
            shared_model::flash_sale::ADMISSION_TTL_SECONDS
        ),
    ))
}

//! The buyer's orders: the confirmation after paying and the order history.

use maud::html;
use shared_model::api::orders::{OrderDetail, OrderList};
use shared_model::ids::OrderId;
use shared_model::order::OrderStatus;

use super::format::money;
use super::layout::{page, respond};
use super::session::{self, sign_in_first, signed_in};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Request, Response};

/// `GET /orders`.
pub async fn list(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first("/orders"));
    };
    let cursor: Option<String> = request
        .query_pairs()
        .into_iter()
        .find(|(n, _)| n == "cursor")
        .map(|(_, v)| v);
    let mut path = "/api/orders?limit=20".to_owned();
    if let Some(cursor) = &cursor {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("cursor", cursor);
        path = format!("{path}&{}", query.finish());
    }
    let list: OrderList = session::get(host, config, token, &path).await?;
    let markup = page(
        "Your orders",
        html! {
            h1 { "Your orders" }
            form method="post" action="/logout" { button.secondary type="submit" { "Sign out" } }
            @if list.orders.is_empty() { p { "No orders yet. " a href="/" { "Start shopping" } } }
            @else {
                table {
                    thead { tr { th scope="col" { "Order" } th scope="col" { "Placed" } th scope="col" { "Items" } th scope="col" { "Total" } th scope="col" { "Status" } } }
                    tbody {
                        @for order in &list.orders {
                            tr {
                                td { a href={ "/orders/" (order.order_id) } { (order.order_number) } }
                                td { (order.created_at.format("%Y-%m-%d")) }
                                td { (order.item_count) }
                                td { (money(order.total, order.currency)) }
                                td { (order.status) }
                            }
                        }
                    }
                }
                @if let Some(next) = &list.next_cursor {
                    nav.pages aria-label="Pages" { a href={ "/orders?cursor=" (next) } rel="next" { "Older orders →" } }
                }
            }
        },
    );
    Ok(respond(200, markup, "private, no-store"))
}

/// `GET /orders/{id}`: the order, with a thank-you once it is confirmed.
pub async fn show(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = OrderId::parse(id)?;
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first(&format!("/orders/{id}")));
    };
    let order: OrderDetail =
        session::get(host, config, token, &format!("/api/orders/{id}")).await?;
    let currency = order.currency;
    let markup = page(
        &format!("Order {}", order.order_number),
        html! {
            @if order.status == OrderStatus::Confirmed {
                h1 { "Thank you! Order " (order.order_number) " is confirmed." }
            } @else {
                h1 { "Order " (order.order_number) }
                p role="status" { "Status: " (order.status) ", payment " (order.payment_status) "." }
            }
            table {
                thead { tr { th scope="col" { "Item" } th scope="col" { "Quantity" } } }
                tbody { @for item in &order.items { tr { td { (item.name) } td { (item.quantity) } } } }
            }
            p { "Subtotal " (money(order.subtotal, currency)) " · shipping " (money(order.shipping, currency)) " · tax " (money(order.tax, currency)) }
            p { "Total " span.price { (money(order.total, currency)) } }
            p { a href="/orders" { "All your orders" } }
        },
    );
    Ok(respond(200, markup, "private, no-store"))
}

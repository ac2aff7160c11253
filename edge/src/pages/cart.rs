//! The cart page, and the plain forms that edit the cart without JS: each posts to the edge,
//! which edits the cart exactly as the JSON API does and redirects back (303).

use std::collections::HashMap;

use maud::html;
use shared_model::cart::CartItemId;
use shared_model::ids::{ProductId, VariantId};

use super::format::{items, money};
use super::layout::{page, respond};
use super::session::{form, redirect};
use crate::cart::routes::{self, LineChange};
use crate::cart::today::Catalog;
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Request, Response};

/// `GET /cart`.
pub async fn show(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let (_, cart) = routes::current(host, config, request).await?;
    // One lookup per product serves both the prices and the names.
    let today = Catalog::for_lines(host, config, cart.lines()).await;
    let view = cart.view(|product, variant| today.availability(product, variant))?;
    let markup = page(
        "Your cart",
        html! {
            h1 { "Your cart" }
            @if view.lines.is_empty() {
                p { "Your cart is empty. " a href="/" { "Browse the shop" } }
            } @else {
                @if view.has_price_changes {
                    p.notice role="status" { "Some prices changed since you added the items; the new prices are shown." }
                }
                @if view.has_unavailable_lines {
                    p.notice role="status" { "Some items can no longer be bought; they are not counted in the total." }
                }
                table {
                    thead { tr { th scope="col" { "Item" } th scope="col" { "Price" } th scope="col" { "Quantity" } th scope="col" { "Total" } th scope="col" { span.visually-hidden { "Remove" } } } }
                    tbody {
                        @for line in &view.lines {
                            tr {
                                td { a href={ "/p/" (line.product_id) } { (today.name(line.product_id).map(str::to_owned).unwrap_or_else(|| format!("Product {}", line.product_id))) } }
                                td {
                                    @match line.current_price {
                                        Some(now) => {
                                            (money(now.amount, now.currency))
                                            @if line.price_changed { " " small { "(was " (money(line.price_at_addition.amount, line.price_at_addition.currency)) ")" } }
                                        }
                                        None => { "Unavailable" }
                                    }
                                }
                                td {
                                    form method="post" action={ "/cart/items/" (line.item_id) } {
                                        label {
                                            span.visually-hidden { "Quantity" }
                                            input type="number" name="quantity" value=(line.quantity) min="1" max=[line.max_quantity] required;
                                        }
                                        " "
                                        button.secondary type="submit" { "Update" }
                                    }
                                }
                                td { @if let Some(total) = line.line_total { (money(total.amount, total.currency)) } }
                                td {
                                    form method="post" action={ "/cart/items/" (line.item_id) } {
                                        input type="hidden" name="remove" value="1";
                                        button.secondary type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
                p { "Subtotal (" (items(view.item_count)) "): " span.price { (money(view.subtotal.amount, view.subtotal.currency)) } }
                p { a.button href="/checkout" { "Proceed to checkout" } }
            }
        },
    );
    // A cart is one buyer's: never kept by a shared cache.
    Ok(respond(200, markup, "private, no-store"))
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EdgeError> {
    form.get(name)
        .map(String::as_str)
        .ok_or_else(|| EdgeError::invalid(name, "is required"))
}

fn quantity(form: &HashMap<String, String>) -> Result<u32, EdgeError> {
    field(form, "quantity")?
        .trim()
        .parse()
        .map_err(|_| EdgeError::invalid("quantity", "must be a whole number"))
}

/// `POST /cart/items` (a form: productId, variantId?, quantity).
pub async fn add(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let form = form(request);
    let product = ProductId::parse(field(&form, "productId")?)?;
    let variant = form
        .get("variantId")
        .filter(|v| !v.is_empty())
        .map(|v| VariantId::parse(v))
        .transpose()?;
    let edited =
        routes::add_line(host, config, request, product, variant, quantity(&form)?).await?;
    Ok(routes::with_cookie(
        redirect("/cart"),
        &edited.key,
        &edited.stored.cart_id,
    ))
}

/// `POST /cart/items/{itemId}` (a form: quantity, or remove).
pub async fn change(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    item: &str,
) -> Result<Response, EdgeError> {
    let item = CartItemId::parse(item)?;
    let form = form(request);
    let change = if form.contains_key("remove") {
        LineChange::Remove
    } else {
        LineChange::SetQuantity(quantity(&form)?)
    };
    routes::change_line(host, config, request, item, change).await?;
    Ok(redirect("/cart"))
}

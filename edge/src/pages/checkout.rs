//! Checkout as pages: choose or add an address, reserve (with the price-change
//! re-confirmation), then pay before the countdown ends. The edge's own checkout handlers do
//! the work, exactly as for the JSON API; each form carries a key of its own, so a double
//! submit has one effect.

use maud::{Markup, PreEscaped, html};
use serde_json::json;
use shared_model::api::checkout::CheckoutView;
use shared_model::api::users::AddressResponse;
use shared_model::ids::CheckoutId;
use shared_model::order::CheckoutStatus;

use super::format::{items, money};
use super::layout::{page, respond};
use super::session::{self, form_key, redirect, sign_in_first, signed_in};
use crate::cart::routes;
use crate::checkout;
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Method, Request, Response};

/// `GET /checkout`.
pub async fn start(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first("/checkout"));
    };
    let (_, cart) = routes::current(host, config, request).await?;
    if cart.is_empty() {
        return Ok(redirect("/cart"));
    }
    let view = routes::view(host, config, &cart).await?;
    let addresses: Vec<AddressResponse> =
        session::get(host, config, token, "/api/users/me/addresses").await?;
    let key = form_key(host);
    let markup = page(
        "Checkout",
        html! {
            h1 { "Checkout" }
            p { (items(view.item_count)) ", subtotal " span.price { (money(view.subtotal.amount, view.subtotal.currency)) } ". " a href="/cart" { "Change the cart" } }
            form method="post" action="/checkout" {
                input type="hidden" name="key" value=(key);
                fieldset {
                    legend { "Ship to" }
                    @for (i, address) in addresses.iter().enumerate() {
                        label {
                            input type="radio" name="addressId" value=(address.address_id) checked[i == 0];
                            " " (address.street_address) ", " (address.city) ", " (address.state) " " (address.postal_code) ", " (address.country)
                        }
                        br;
                    }
                    @if addresses.is_empty() { (new_address()) }
                }
                p { button type="submit" { "Reserve my items" } }
                p { small { "Your items are held for 15 minutes while you pay." } }
            }
        },
    );
    Ok(respond(200, markup, "private, no-store"))
}

fn new_address() -> Markup {
    html! {
        p { label { "Street " input type="text" name="streetAddress" required autocomplete="street-address"; } }
        p { label { "City " input type="text" name="city" required autocomplete="address-level2"; } }
        p { label { "State " input type="text" name="state" autocomplete="address-level1"; } }
        p { label { "Postal code " input type="text" name="postalCode" required autocomplete="postal-code"; } }
        p { label { "Country " input type="text" name="country" required value="US" maxlength="2" autocomplete="country"; } }
    }
}

/// `POST /checkout`: reserves the cart's lines and opens the checkout.
pub async fn reserve(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first("/checkout"));
    };
    let form = session::form(request);
    let key = form
        .get("key")
        .filter(|k| !k.is_empty())
        .cloned()
        .unwrap_or_else(|| form_key(host));
    let address = match form.get("addressId").filter(|a| !a.is_empty()) {
        Some(id) => id.clone(),
        None => {
            let field = |name: &str| form.get(name).cloned().unwrap_or_default();
            let created = session::core(
                host,
                config,
                Some(token),
                Method::Post,
                "/api/users/me/addresses",
                Some(&json!({"streetAddress": field("streetAddress"), "city": field("city"), "state": field("state"), "postalCode": field("postalCode"), "country": field("country")})),
                Some(&format!("{key}-address")),
            )
            .await?;
            if !created.is_success() {
                return Err(created.into_error());
            }
            created.body["addressId"]
                .as_str()
                .ok_or_else(|| EdgeError::CoreAnswer("an address without an id".into()))?
                .to_owned()
        }
    };
    let accept = form.contains_key("acceptPriceChanges");
    let initiate = Request::new(Method::Post, "/api/checkout/initiate")
        .with_header("authorization", &format!("Bearer {token}"))
        .with_header("idempotency-key", &key)
        .with_body(
            json!({
                "shippingAddressId": address,
                "acceptPriceChanges": accept,
                // Set by the waiting room when the buyer was admitted to a flash sale.
                "admissionToken": request.cookie(super::sale::ADMISSION_COOKIE).filter(|t| !t.is_empty()),
            })
            .to_string(),
        );
    let answer = checkout::initiate(host, config, &initiate).await?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    match (answer.status, body["error"]["code"].as_str()) {
        (201, _) => {
            let id = body["checkoutId"].as_str().unwrap_or_default();
            Ok(redirect(&format!("/checkout/{id}")))
        }
        (409, Some("price_changed")) => Ok(confirm_prices(host, &address, &body)),
        (409, Some("out_of_stock")) => Ok(respond(
            409,
            page(
                "Not enough stock",
                html! {
                    h1 { "Some items just sold out" }
                    p role="alert" { (body["error"]["message"].as_str().unwrap_or("")) }
                    p { "Nothing was reserved. " a href="/cart" { "Change your cart" } " and try again." }
                },
            ),
            "no-store",
        )),
        _ => Err(session::CoreAnswer {
            status: answer.status,
            body,
        }
        .into_error()),
    }
}

/// Prices rose by more than 5 %: the buyer confirms the new prices (a new form, a new key).
fn confirm_prices(host: &impl Host, address: &str, body: &serde_json::Value) -> Response {
    let changes = body["error"]["details"]["priceChanges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let markup = page(
        "Prices changed",
        html! {
            h1 { "Some prices changed" }
            p role="alert" { "These prices rose since you added the items:" }
            ul {
                @for change in &changes {
                    li { "Product " (change["productId"].as_str().unwrap_or("")) ": " (change["previous"].as_str().unwrap_or("")) " → " strong { (change["current"].as_str().unwrap_or("")) } }
                }
            }
            form method="post" action="/checkout" {
                input type="hidden" name="key" value=(form_key(host));
                input type="hidden" name="addressId" value=(address);
                input type="hidden" name="acceptPriceChanges" value="1";
                button type="submit" { "Accept the new prices and reserve" }
            }
            p { a href="/cart" { "Back to the cart" } }
        },
    );
    respond(409, markup, "no-store")
}

/// `GET /checkout/{id}`: the reservation's countdown and the payment form.
pub async fn show(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = CheckoutId::parse(id)?;
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first(&format!("/checkout/{id}")));
    };
    let view: CheckoutView =
        session::get(host, config, token, &format!("/api/checkout/{id}")).await?;
    if view.status == CheckoutStatus::Confirmed {
        return Ok(redirect(&format!("/orders/{}", view.order_id)));
    }
    let markup = page("Pay", pay_page(&view, &form_key(host)));
    Ok(respond(200, markup, "private, no-store"))
}

fn pay_page(view: &CheckoutView, key: &str) -> Markup {
    let currency = view.currency;
    let open = matches!(
        view.status,
        CheckoutStatus::Reserved | CheckoutStatus::PaymentFailed
    ) && view.seconds_remaining > 0;
    html! {
        h1 { "Pay for order " (view.order_number) }
        table {
            thead { tr { th scope="col" { "Item" } th scope="col" { "Quantity" } th scope="col" { "Total" } } }
            tbody {
                @for line in &view.items {
                    tr { td { (line.name) } td { (line.quantity) } td { (money(line.line_total, currency)) } }
                }
            }
        }
        p { "Subtotal " (money(view.subtotal, currency)) " · shipping " (money(view.shipping, currency)) " · tax " (money(view.tax, currency)) }
        p { "Total " span.price { (money(view.total, currency)) } }
        @if let Some(reason) = view.last_payment.as_ref().and_then(|a| a.failure_reason.as_deref()) {
            p.notice role="alert" { "The payment did not go through: " (reason) }
        }
        @if open {
            p {
                "Your items are held for "
                time #countdown datetime=(view.expires_at.to_rfc3339()) data-seconds=(view.seconds_remaining) {
                    (view.seconds_remaining / 60) " min " (view.seconds_remaining % 60) " s"
                }
                "."
            }
            form method="post" action={ "/checkout/" (view.checkout_id) "/pay" } {
                input type="hidden" name="key" value=(key);
                input type="hidden" name="paymentMethod" value="CARD";
                p {
                    label { "Card token " input type="text" name="paymentToken" required list="test-cards" autocomplete="off"; }
                    datalist #test-cards { option value="tok_visa"; option value="tok_chargeDeclined"; }
                }
                button type="submit" { "Pay " (money(view.total, currency)) }
            }
            // The countdown ticks without a reload; without JS it shows the time at render.
            script { (PreEscaped(COUNTDOWN)) }
        } @else {
            p role="alert" { "This checkout is no longer open (" (view.status) "). " a href="/cart" { "Back to the cart" } }
        }
    }
}

const COUNTDOWN: &str = "(function(){var t=document.getElementById('countdown');if(!t)return;\
var s=+t.dataset.seconds;setInterval(function(){if(s>0)s--;\
t.textContent=Math.floor(s/60)+' min '+(s%60)+' s';},1000);})();";

/// `POST /checkout/{id}/pay`.
pub async fn pay(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    id: &str,
) -> Result<Response, EdgeError> {
    let id = CheckoutId::parse(id)?;
    let Some(token) = signed_in(host, config, request).await else {
        return Ok(sign_in_first(&format!("/checkout/{id}")));
    };
    let form = session::form(request);
    let key = form
        .get("key")
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or_else(|| EdgeError::invalid("key", "is required: reload the page"))?;
    let pay = Request::new(Method::Post, &format!("/api/checkout/{id}/pay"))
        .with_header("authorization", &format!("Bearer {token}"))
        .with_header("idempotency-key", &key)
        .with_header("content-type", "application/json")
        .with_body(
            json!({
                "paymentMethod": form.get("paymentMethod").map(String::as_str).unwrap_or("CARD"),
                "paymentToken": form.get("paymentToken").cloned().unwrap_or_default(),
            })
            .to_string(),
        );
    let answer = checkout::pay(host, config, &pay, &id.to_string()).await?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    match answer.status {
        // Paid, or the outcome is being settled: the order page says which.
        200 | 202 => Ok(redirect(&format!(
            "/orders/{}",
            body["orderId"].as_str().unwrap_or_default()
        ))),
        // Declined: the checkout page shows why, and the stock is still held.
        402 => Ok(redirect(&format!("/checkout/{id}"))),
        status => Err(session::CoreAnswer { status, body }.into_error()),
    }
}

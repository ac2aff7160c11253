//! The frame every page shares, and the error page.

use maud::{DOCTYPE, Markup, html};

use crate::error::EdgeError;
use crate::http::Response;

/// Small enough to inline: one request per page, nothing to cache-bust.
const STYLE: &str = "
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d1d1f;background:#fafafa}
header,main,footer{max-width:72rem;margin:0 auto;padding:1rem}
header{display:flex;gap:1.5rem;align-items:center;border-bottom:1px solid #ddd}
header .brand{font-weight:700;font-size:1.25rem;margin-right:auto}
a{color:#0b57d0}a:focus,button:focus,input:focus,select:focus{outline:3px solid #f4b400}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem;padding:0;list-style:none}
.card{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:1rem}
.listing{display:grid;grid-template-columns:14rem 1fr;gap:2rem}
.price{font-weight:700}.was{text-decoration:line-through;color:#666;margin-left:.5rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-size:.875rem}
.in-stock{background:#e6f4ea;color:#137333}.out-of-stock{background:#fce8e6;color:#a50e0e}
.unknown-stock{background:#eee;color:#444}
table{border-collapse:collapse;width:100%}td,th{padding:.5rem;border-bottom:1px solid #ddd;text-align:left}
button{font:inherit;padding:.4rem 1rem;border-radius:.4rem;border:1px solid #0b57d0;background:#0b57d0;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b57d0}
a.button{display:inline-block;padding:.4rem 1rem;border-radius:.4rem;background:#0b57d0;color:#fff;text-decoration:none}
.notice{background:#fef7e0;border:1px solid #f9e08b;padding:.75rem;border-radius:.4rem}
nav.pages{display:flex;gap:1rem;margin-top:1rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
";

/// A whole page: `title` names it, `content` fills `<main>`.
pub fn page(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · edgeshop" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/" { "edgeshop" }
                    nav aria-label="Shop" {
                        a href="/" { "Categories" }
                        " "
                        a href="/cart" { "Cart" }
                        " "
                        a href="/orders" { "Orders" }
                        " "
                        a href="/login" { "Sign in" }
                    }
                }
                main { (content) }
                footer { small { "Served at the edge." } }
            }
        }
    }
}

/// An HTML answer with the page's caching rule.
pub fn respond(status: u16, markup: Markup, cache_control: &str) -> Response {
    Response::html(status, markup.into_string()).with_header("cache-control", cache_control)
}

/// What a buyer sees when a page cannot be shown: the reason in plain words, never a hang
/// and never internal detail (a core that is down or slow is a 502/504 here too).
pub fn error_page(err: &EdgeError) -> Response {
    let status = err.status();
    let (title, advice) = match status {
        404 => (
            "Not found",
            "It may have been removed, or the link is wrong.",
        ),
        502..=504 => (
            "The shop is busy",
            "We could not reach the shop just now. Your cart is kept; please try again in a moment.",
        ),
        400..=499 => (
            "That did not work",
            "Please check what you entered and try again.",
        ),
        _ => ("Something went wrong", "Please try again in a moment."),
    };
    let markup = page(
        title,
        html! {
            h1 { (title) }
            p role="alert" { (err.public_message()) }
            p { (advice) }
            p { a href="/" { "Back to the shop" } " · " a href="/cart" { "Your cart" } }
        },
    );
    respond(status, markup, "no-store")
}

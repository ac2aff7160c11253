//! The storefront's HTML pages, rendered at the edge with maud (templates checked at compile
//! time; no client framework). Browsing and the cart work without JS: links and plain forms
//! that post to the edge and redirect back.

pub mod account;
pub mod cart;
pub mod catalog;
pub mod checkout;
mod format;
pub mod images;
mod layout;
pub mod orders;
pub mod sale;
mod session;

pub use layout::error_page;

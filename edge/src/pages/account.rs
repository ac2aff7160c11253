//! Sign in, register and sign out with plain forms. The edge calls the core's auth API, keeps
//! the token in an HttpOnly session cookie and merges the guest's cart into the buyer's.

use maud::{Markup, html};
use serde_json::json;

use super::layout::{page, respond};
use super::session::{self, clear_session_cookie, redirect, session_cookie};
use crate::cart::owner::{CART_COOKIE, guest_cart_id, token};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Method, Request, Response};
use crate::signin::merge_into_buyer;

/// Only paths of this storefront are followed after sign-in (no open redirect).
fn next_page(next: Option<&String>) -> String {
    match next {
        // `//host` and `/\host` both leave the shop in a browser's Location.
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.clone()
        }
        _ => "/".into(),
    }
}

fn form_page(title: &str, action: &str, next: &str, error: Option<&str>, register: bool) -> Markup {
    page(
        title,
        html! {
            h1 { (title) }
            @if let Some(error) = error { p.notice role="alert" { (error) } }
            form method="post" action=(action) {
                input type="hidden" name="next" value=(next);
                @if register {
                    p { label { "First name " input type="text" name="firstName" required autocomplete="given-name"; } }
                }
                p { label { "Email " input type="email" name="email" required autocomplete="email"; } }
                p { label { "Password " input type="password" name="password" required minlength="8" autocomplete=(if register { "new-password" } else { "current-password" }); } }
                button type="submit" { (title) }
            }
            @if register {
                p { "Already have an account? " a href={ "/login?next=" (next) } { "Sign in" } }
            } @else {
                p { "New here? " a href={ "/register?next=" (next) } { "Create an account" } }
            }
        },
    )
}

pub fn login_form(request: &Request) -> Response {
    let query: std::collections::HashMap<String, String> =
        request.query_pairs().into_iter().collect();
    let next = next_page(query.get("next"));
    respond(
        200,
        form_page("Sign in", "/login", &next, None, false),
        "no-store",
    )
}

pub fn register_form(request: &Request) -> Response {
    let query: std::collections::HashMap<String, String> =
        request.query_pairs().into_iter().collect();
    let next = next_page(query.get("next"));
    respond(
        200,
        form_page("Create an account", "/register", &next, None, true),
        "no-store",
    )
}

/// `POST /login` and `POST /register`.
pub async fn submit(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    register: bool,
) -> Result<Response, EdgeError> {
    let form = session::form(request);
    let next = next_page(form.get("next"));
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let (path, body, title, action) = if register {
        (
            "/api/auth/register",
            json!({"email": field("email"), "password": field("password"), "firstName": field("firstName")}),
            "Create an account",
            "/register",
        )
    } else {
        (
            "/api/auth/login",
            json!({"email": field("email"), "password": field("password")}),
            "Sign in",
            "/login",
        )
    };
    let answer = session::core(host, config, None, Method::Post, path, Some(&body), None).await?;
    if !answer.is_success() {
        if answer.status >= 500 {
            return Err(answer.into_error());
        }
        let markup = form_page(title, action, &next, Some(&answer.message()), register);
        return Ok(respond(answer.status, markup, "no-store"));
    }
    let token = answer.body["accessToken"]
        .as_str()
        .ok_or_else(|| EdgeError::CoreAnswer("a sign-in without a token".into()))?
        .to_owned();
    let max_age = answer.body["expiresIn"].as_i64().unwrap_or(24 * 60 * 60);
    let mut response = redirect(&next).with_header("set-cookie", &session_cookie(&token, max_age));
    if let Ok(Some(guest)) = guest_cart_id(request) {
        merge_into_buyer(host, config, guest, &token).await?;
        response = response.with_header(
            "set-cookie",
            &format!("{CART_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
    }
    Ok(response)
}

/// `POST /logout`: the core ends the session, the cookie goes.
pub async fn logout(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    if let Some(token) = token(request) {
        // Signing out locally matters more than the core hearing of it.
        let _ = session::core(
            host,
            config,
            Some(token),
            Method::Post,
            "/api/auth/logout",
            None::<&()>,
            None,
        )
        .await;
    }
    Ok(redirect("/").with_header("set-cookie", &clear_session_cookie()))
}

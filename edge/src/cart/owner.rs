//! Whose cart a request is about: a signed-in buyer's (told by verifying the core's token here,
//! without asking the core) or a guest's (by `X-Cart-Id`, else the `cart_id` cookie).

use std::sync::LazyLock;

use shared_model::ModelError;
use shared_model::auth::{self, Claims};
use shared_model::ids::{CartId, UserId};
use shared_model::verified_tokens::{Recall, VerifiedTokens};

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::Request;

pub const CART_COOKIE: &str = "cart_id";
/// The signed-in buyer's token, for pages (set by the edge's sign-in form, HttpOnly).
pub const SESSION_COOKIE: &str = "session";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartOwner {
    Buyer(UserId),
    /// A guest's cart; a guest without one yet gets an id when the cart is first written.
    Guest(Option<CartId>),
}

/// The buyer's token: `Authorization: Bearer`, else the session cookie of the pages.
pub fn token(request: &Request) -> Option<&str> {
    request.bearer().or_else(|| session_cookie(request))
}

fn session_cookie(request: &Request) -> Option<&str> {
    request.cookie(SESSION_COOKIE).filter(|t| !t.is_empty())
}

/// Tokens this isolate has verified: a buyer polling the waiting room sends the same token
/// every few seconds. Sized for a sale of 100,000 buyers on one isolate: with room for 50,000,
/// the early joiners filled the map just before the start, the first late joiner cleared it,
/// and every early joiner's first poll was checked again (a signature check each). 110,000
/// tokens take about 22 MB of the isolate's 128 MB (the map's table has 2^17 slots).
static VERIFIED: LazyLock<VerifiedTokens> = LazyLock::new(|| VerifiedTokens::new(110_000));

/// The buyer's verified claims, `None` for a guest. A bearer token that does not verify is
/// refused: a forged or expired token never falls back to being a guest. A session cookie
/// that no longer verifies (expired) only means the pages' buyer is signed out.
pub async fn buyer(
    host: &impl Host,
    request: &Request,
    config: &EdgeConfig,
) -> Result<Option<Claims>, EdgeError> {
    let now_unix = host.now().timestamp();
    if let Some(token) = request.bearer() {
        return verified(host, token, config, now_unix)
            .await
            .map(Some)
            .map_err(EdgeError::from);
    }
    Ok(match session_cookie(request) {
        Some(token) => verified(host, token, config, now_unix).await.ok(),
        None => None,
    })
}

/// The token's claims, its signature checked once per isolate: by the runtime's own Ed25519
/// where it has one, else here.
pub(crate) async fn verified(
    host: &impl Host,
    token: &str,
    config: &EdgeConfig,
    now_unix: i64,
) -> Result<Claims, ModelError> {
    let digest = match VERIFIED.recall(token, &config.jwt_key, now_unix) {
        Recall::Known(claims) => return claims,
        Recall::Unknown(digest) => digest,
    };
    let unverified = auth::parse(token)?;
    let checked = host
        .verify_ed25519(
            config.jwt_key.as_bytes(),
            unverified.signed(),
            unverified.signature(),
        )
        .await;
    match checked {
        Some(true) => {}
        Some(false) => return Err(ModelError::Token("bad signature")),
        None => auth::check_signature(&unverified, &config.jwt_key)?,
    }
    let claims = unverified.claims(now_unix)?;
    VERIFIED.remember(digest, &config.jwt_key, &claims, now_unix);
    Ok(claims)
}

/// The guest cart id the request names, if any; a malformed one is refused.
pub fn guest_cart_id(request: &Request) -> Result<Option<CartId>, EdgeError> {
    let named = request
        .header("x-cart-id")
        .or_else(|| request.cookie(CART_COOKIE));
    named
        .map(|text| CartId::parse(text.trim()).map_err(EdgeError::from))
        .transpose()
}

pub async fn owner(
    host: &impl Host,
    request: &Request,
    config: &EdgeConfig,
) -> Result<CartOwner, EdgeError> {
    Ok(match buyer(host, request, config).await? {
        Some(claims) => CartOwner::Buyer(claims.sub),
        None => CartOwner::Guest(guest_cart_id(request)?),
    })
}

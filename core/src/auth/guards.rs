//! Request guards: a handler that takes `CurrentUser` is for signed-in users (`TokenHolder`
//! where a valid token is enough), `SellerUser` for sellers, `AdminUser` for admins,
//! `EdgeCaller` for the edge itself. The check happens before the handler runs (and before its
//! body is read), so no handler can forget it.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared_model::auth::{Claims, Role};
use shared_model::ids::{SellerId, SessionId, UserId};

use crate::auth::sessions;
use crate::error::ApiError;
use crate::state::AppState;

/// A caller with a valid token and a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub user_id: UserId,
    pub role: Role,
    pub session_id: SessionId,
}

/// The bearer token of a request, if it carries one. A malformed header is an error, not a guest.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::unauthorized("invalid_token", "the Authorization header is not text")
    })?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "invalid_token",
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// The claims of the request's bearer token (`Ok(None)` without one), for every reader of the
/// token (rate limits, idempotency, the guard); [`TokenKeys`](crate::auth::TokenKeys) remembers
/// tokens that verified, so the signature is checked once per token, not per reader.
pub fn verified_claims(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Claims>, ApiError> {
    let Some(token) = bearer_token(headers)? else {
        return Ok(None);
    };
    state
        .keys
        .verify(token, chrono::Utc::now().timestamp())
        .map(Some)
        .map_err(|e| ApiError::unauthorized("invalid_token", e.to_string()))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(*user);
        }
        let claims = required_claims(state, &parts.headers)?;
        if !sessions::is_live(&state.db, &state.redis, claims.sid, claims.sub).await? {
            return Err(ApiError::unauthorized(
                "session_expired",
                "this session has ended; sign in again",
            ));
        }
        let user = CurrentUser {
            user_id: claims.sub,
            role: claims.role,
            session_id: claims.sid,
        };
        parts.extensions.insert(user);
        Ok(user)
    }
}

/// The claims of the request's bearer token, which it must carry.
fn required_claims(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Claims, ApiError> {
    verified_claims(state, headers)?
        .ok_or_else(|| ApiError::unauthorized("missing_token", "sign in to do this"))
}

/// A caller whose token verifies, without asking whether its session is still live. Only for
/// taking a place that buys nothing by itself (joining a flash sale's waiting room): every
/// buyer of a sale joins and most never check out, and the session read is a Redis read and,
/// where the cache has lapsed, a PostgreSQL one (0.15 ms of PostgreSQL per join in a
/// 100,000-buyer sale). The edge's status polls do not ask either; whatever spends or changes
/// a buyer's things takes [`CurrentUser`], so a signed-out token that joined cannot check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHolder {
    pub user_id: UserId,
}

impl FromRequestParts<AppState> for TokenHolder {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let claims = required_claims(state, &parts.headers)?;
        Ok(TokenHolder {
            user_id: claims.sub,
        })
    }
}

/// A signed-in caller who must have `role`; anyone else is refused with `code`.
async fn with_role(
    parts: &mut Parts,
    state: &AppState,
    role: Role,
    code: &'static str,
    message: &'static str,
) -> Result<CurrentUser, ApiError> {
    let user = CurrentUser::from_request_parts(parts, state).await?;
    if user.role != role {
        return Err(ApiError::forbidden(code, message));
    }
    Ok(user)
}

#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = with_role(
            parts,
            state,
            Role::Admin,
            "admin_only",
            "only administrators may do this",
        )
        .await?;
        Ok(AdminUser(user))
    }
}

/// A seller account together with the seller it manages.
#[derive(Debug, Clone, Copy)]
pub struct SellerUser {
    pub user: CurrentUser,
    pub seller_id: SellerId,
}

impl FromRequestParts<AppState> for SellerUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = with_role(
            parts,
            state,
            Role::Seller,
            "seller_only",
            "only sellers may do this",
        )
        .await?;
        let seller: Option<i64> = sqlx::query_scalar(
            "SELECT seller_id FROM sellers WHERE user_id = $1 AND status = 'ACTIVE'",
        )
        .bind(user.user_id.get())
        .fetch_optional(&state.db)
        .await?;
        let seller_id = seller.map(SellerId::new).ok_or_else(|| {
            ApiError::forbidden("seller_inactive", "this seller account is not active")
        })?;
        Ok(SellerUser { user, seller_id })
    }
}

/// The edge, proven by the secret both sides were configured with (`EDGESHOP_EDGE_SECRET`),
/// sent as `X-Edge-Secret`. No user token, an admin's included, stands in for it.
#[derive(Debug, Clone, Copy)]
pub struct EdgeCaller;

pub const EDGE_SECRET_HEADER: &str = "x-edge-secret";

impl FromRequestParts<AppState> for EdgeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.edge_secret.is_none() {
            return Err(ApiError::unauthorized(
                "snapshots_disabled",
                "this core takes nothing from the edge (EDGESHOP_EDGE_SECRET is not set)",
            ));
        }
        if !from_the_edge(&parts.headers, state.config.edge_secret.as_deref()) {
            return Err(ApiError::unauthorized(
                "not_the_edge",
                "only the edge may call this",
            ));
        }
        Ok(EdgeCaller)
    }
}

/// Whether the request carries the edge's secret (never, when none is configured).
pub fn from_the_edge(headers: &axum::http::HeaderMap, secret: Option<&str>) -> bool {
    use sha2::{Digest, Sha256};
    let Some(expected) = secret else {
        return false;
    };
    let sent = headers
        .get(EDGE_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Digests of equal length are compared, so the time taken says nothing of the secret.
    Sha256::digest(sent.as_bytes()) == Sha256::digest(expected.as_bytes())
}

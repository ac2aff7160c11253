//! Sign-in and registration go to the core; when the core lets the buyer in, the edge merges
//! the guest's cart into the buyer's (seed 5.3) and adds what changed to the core's answer.

use crate::cart::merge;
use crate::cart::owner::{self, CART_COOKIE, guest_cart_id};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::forward;
use crate::host::Host;
use crate::http::{Request, Response};

pub async fn sign_in(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    // A malformed cart id is refused before the credentials travel anywhere.
    let guest = guest_cart_id(request)?;
    let answer = forward::to_core(host, config, request).await?;
    let Some(guest) = guest.filter(|_| answer.is_success()) else {
        return Ok(answer);
    };
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&answer.body) else {
        return Ok(answer);
    };
    let Some(token) = body.get("accessToken").and_then(|t| t.as_str()) else {
        return Ok(answer);
    };
    let Some(report) = merge_into_buyer(host, config, guest, token).await? else {
        return Ok(answer);
    };
    body["cartMerge"] = serde_json::to_value(&report)
        .map_err(|e| EdgeError::CoreAnswer(format!("cart merge: {e}")))?;
    let mut merged = Response::json(answer.status, &body);
    for (name, value) in answer.headers.iter().filter(|(n, _)| n != "content-type") {
        merged = merged.with_header(name, value);
    }
    // The guest cart is gone: the browser stops naming it.
    Ok(merged.with_header(
        "set-cookie",
        &format!("{CART_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    ))
}

/// Merges the guest's cart into the cart of the buyer `token` (just issued by the core) names.
pub async fn merge_into_buyer(
    host: &impl Host,
    config: &EdgeConfig,
    guest: shared_model::ids::CartId,
    token: &str,
) -> Result<Option<merge::MergeReport>, EdgeError> {
    // The edge learns who signed in from the token itself, as it will on every later request.
    // A token the core just issued that does not verify here means the two keys disagree.
    // Checked as every request's token is, and remembered for the buyer's next request.
    let claims = owner::verified(host, token, config, host.now().timestamp())
        .await
        .map_err(|_| {
            EdgeError::Config("the core's tokens do not verify with EDGE_JWT_PUBLIC_KEY".into())
        })?;
    merge::guest_into_buyer(host, config, guest, claims.sub).await
}

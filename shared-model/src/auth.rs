//! Roles, token claims and the compact JWT (EdDSA/Ed25519) the core issues at login.
//!
//! The core signs with its private key; the edge holds only the public key, so it can tell a
//! signed-in buyer from a guest without asking the core, but can never mint a token. Only the
//! `EdDSA` algorithm is accepted: a token cannot talk the verifier into a weaker one.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::ids::{SessionId, UserId};

pub const ISSUER: &str = "edgeshop-core";
/// Sessions (and so tokens) last 24 hours (seed Part 9).
pub const SESSION_TTL_SECONDS: i64 = 24 * 60 * 60;
/// Clock skew tolerated between the core and the edge.
pub const CLOCK_SKEW_SECONDS: i64 = 60;
const MAX_TOKEN_LEN: usize = 4096;
const HEADER_JSON: &str = r#"{"alg":"EdDSA","typ":"JWT"}"#;

/// What an account may do (seed 3.4: USER, SELLER and ADMIN endpoints; PUBLIC and OPTIONAL need
/// no account at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Customer,
    Seller,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "CUSTOMER",
            Role::Seller => "SELLER",
            Role::Admin => "ADMIN",
        }
    }
}

impl FromStr for Role {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "CUSTOMER" => Ok(Role::Customer),
            "SELLER" => Ok(Role::Seller),
            "ADMIN" => Ok(Role::Admin),
            _ => Err(ModelError::invalid(
                "role",
                "must be customer, seller or admin",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The token's claims: who, in which role, in which session, until when (Unix seconds, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub sub: UserId,
    pub role: Role,
    pub sid: SessionId,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn new(user: UserId, role: Role, session: SessionId, now_unix: i64) -> Self {
        Claims {
            sub: user,
            role,
            sid: session,
            iss: ISSUER.to_owned(),
            iat: now_unix,
            exp: now_unix + SESSION_TTL_SECONDS,
        }
    }
}

/// Signs the claims into a compact JWT.
pub fn sign(claims: &Claims, key: &SigningKey) -> Result<String, ModelError> {
    let payload =
        serde_json::to_vec(claims).map_err(|_| ModelError::Token("claims do not serialise"))?;
    let mut token = URL_SAFE_NO_PAD.encode(HEADER_JSON);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    Ok(token)
}

/// Verifies a compact JWT and returns its claims if the signature, issuer and times hold.
pub fn verify(token: &str, key: &VerifyingKey, now_unix: i64) -> Result<Claims, ModelError> {
    let unverified = parse(token)?;
    check_signature(&unverified, key)?;
    unverified.claims(now_unix)
}

/// A compact JWT taken apart, its signature not yet checked. Lets a runtime with its own
/// Ed25519 (WebCrypto in a Worker) check the signature instead of [`check_signature`].
#[derive(Debug)]
pub struct Unverified<'a> {
    signed: &'a [u8],
    signature: [u8; 64],
    payload: &'a str,
}

impl Unverified<'_> {
    /// The signed part, `header.payload`.
    pub fn signed(&self) -> &[u8] {
        self.signed
    }

    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The claims, if their issuer and times hold. Call it only once the signature checked out.
    pub fn claims(&self, now_unix: i64) -> Result<Claims, ModelError> {
        let payload_json = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| ModelError::Token("malformed claims"))?;
        let claims: Claims = serde_json::from_slice(&payload_json)
            .map_err(|_| ModelError::Token("malformed claims"))?;
        if claims.iss != ISSUER {
            return Err(ModelError::Token("wrong issuer"));
        }
        check_times(&claims, now_unix)?;
        Ok(claims)
    }
}

/// Takes a compact JWT apart: three parts, an `EdDSA` header, a 64-byte signature.
pub fn parse(token: &str) -> Result<Unverified<'_>, ModelError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ModelError::Token("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ModelError::Token("malformed"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| ModelError::Token("malformed header"))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| ModelError::Token("malformed header"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA") {
        return Err(ModelError::Token("unsupported algorithm"));
    }
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ModelError::Token("malformed signature"))?;
    Ok(Unverified {
        signed: &token.as_bytes()[..header_len_plus_payload(token)],
        signature,
        payload,
    })
}

/// Checks the token's signature with `key` (strict RFC 8032 verification).
pub fn check_signature(unverified: &Unverified<'_>, key: &VerifyingKey) -> Result<(), ModelError> {
    key.verify_strict(
        unverified.signed,
        &Signature::from_bytes(&unverified.signature),
    )
    .map_err(|_| ModelError::Token("bad signature"))
}

/// Whether verified claims are still good at `now_unix`: not expired, not issued in the future.
pub fn check_times(claims: &Claims, now_unix: i64) -> Result<(), ModelError> {
    if claims.exp <= now_unix {
        return Err(ModelError::Token("expired"));
    }
    if claims.iat > now_unix + CLOCK_SKEW_SECONDS {
        return Err(ModelError::Token("issued in the future"));
    }
    Ok(())
}

/// Length of `header.payload`, the signed part of the token.
fn header_len_plus_payload(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn claims(now: i64) -> Claims {
        Claims::new(
            UserId::new(7),
            Role::Seller,
            SessionId(uuid::Uuid::from_u128(1)),
            now,
        )
    }

    #[test]
    fn a_signed_token_verifies_with_the_public_key() {
        let now = 1_700_000_000;
        let token = sign(&claims(now), &key(1)).unwrap();
        assert_eq!(
            verify(&token, &key(1).verifying_key(), now + 10).unwrap(),
            claims(now)
        );
    }

    #[test]
    fn forged_expired_and_tampered_tokens_are_refused() {
        let now = 1_700_000_000;
        let token = sign(&claims(now), &key(1)).unwrap();
        let public = key(1).verifying_key();
        // Signed by another key.
        let forged = sign(&claims(now), &key(2)).unwrap();
        assert_eq!(
            verify(&forged, &public, now),
            Err(ModelError::Token("bad signature"))
        );
        // Expired.
        assert_eq!(
            verify(&token, &public, now + SESSION_TTL_SECONDS),
            Err(ModelError::Token("expired"))
        );
        // Role escalated in the payload.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut escalated = claims(now);
        escalated.role = Role::Admin;
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&escalated).unwrap());
        assert!(verify(&parts.join("."), &public, now).is_err());
        // "alg": "none".
        parts[0] = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            verify(&parts.join("."), &public, now),
            Err(ModelError::Token("unsupported algorithm"))
        );
        for junk in ["", "a.b", "a.b.c.d", "...", &"x".repeat(5000)] {
            assert!(verify(junk, &public, now).is_err());
        }
    }

    #[test]
    fn roles_parse_case_insensitively_for_the_cli() {
        assert_eq!("seller".parse::<Role>().unwrap(), Role::Seller);
        assert!("root".parse::<Role>().is_err());
    }
}

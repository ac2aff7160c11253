//! Access tokens whose signature already checked out. A signed-in buyer sends the same token
//! with every request, and its Ed25519 check is the largest CPU cost of a waiting-room poll at
//! the edge (~250 µs in a Worker's Wasm) and of a checkout request in the core after the
//! database; remembered, it costs a SHA-256 of the token and a map lookup.
//!
//! Kept by the token's SHA-256 (a token's bytes verify the same way every time, and the digest
//! keeps an entry small), together with the key it verified under: a token is only ever taken
//! as verified by the key that verified it. The times are checked again on every use.

use std::collections::HashMap;
use std::sync::Mutex;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::auth::{self, Claims};

pub struct VerifiedTokens {
    cap: usize,
    entries: Mutex<HashMap<[u8; 32], Verified>>,
}

/// What [`VerifiedTokens::recall`] found.
#[derive(Debug)]
pub enum Recall {
    /// Verified before: its claims, or why they no longer hold (expired).
    Known(Result<Claims, ModelError>),
    /// Not verified before (or forgotten): its digest, to remember it by once verified.
    Unknown(TokenDigest),
}

/// A token's SHA-256, the key it is remembered by.
#[derive(Debug)]
pub struct TokenDigest([u8; 32]);

struct Verified {
    key: [u8; 32],
    claims: Claims,
}

impl VerifiedTokens {
    /// Remembers at most `cap` tokens; when full, expired ones go, then all (they verify again).
    pub fn new(cap: usize) -> Self {
        VerifiedTokens {
            cap,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// [`auth::verify`], with the signature checked once per token and key.
    pub fn verify(
        &self,
        token: &str,
        key: &VerifyingKey,
        now_unix: i64,
    ) -> Result<Claims, ModelError> {
        match self.recall(token, key, now_unix) {
            Recall::Known(claims) => claims,
            Recall::Unknown(digest) => {
                let claims = auth::verify(token, key, now_unix)?;
                self.remember(digest, key, &claims, now_unix);
                Ok(claims)
            }
        }
    }

    /// The claims of a token verified before under `key` (its times checked again), or what
    /// [`Self::remember`] needs once the caller has verified it some other way.
    pub fn recall(&self, token: &str, key: &VerifyingKey, now_unix: i64) -> Recall {
        let digest = TokenDigest(Sha256::digest(token.as_bytes()).into());
        match self.remembered(&digest.0, key) {
            Some(claims) => Recall::Known(auth::check_times(&claims, now_unix).map(|()| claims)),
            None => Recall::Unknown(digest),
        }
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remembered(&self, digest: &[u8; 32], key: &VerifyingKey) -> Option<Claims> {
        let entries = self.entries.lock().ok()?;
        let verified = entries.get(digest)?;
        (verified.key == *key.as_bytes()).then(|| verified.claims.clone())
    }

    /// Remembers claims whose token's signature checked out under `key`.
    pub fn remember(
        &self,
        digest: TokenDigest,
        key: &VerifyingKey,
        claims: &Claims,
        now_unix: i64,
    ) {
        // A poisoned lock only costs the next requests their signature check.
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.cap {
            entries.retain(|_, v| v.claims.exp > now_unix);
            if entries.len() >= self.cap {
                entries.clear();
            }
        }
        entries.insert(
            digest.0,
            Verified {
                key: key.to_bytes(),
                claims: claims.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::auth::Role;
    use crate::ids::{SessionId, UserId};

    const NOW: i64 = 1_700_000_000;

    fn token(signer: &SigningKey, user: i64, issued_at: i64) -> (String, Claims) {
        let claims = Claims::new(
            UserId::new(user),
            Role::Customer,
            SessionId(uuid::Uuid::from_u128(user as u128)),
            issued_at,
        );
        (auth::sign(&claims, signer).expect("signs"), claims)
    }

    #[test]
    fn a_remembered_token_answers_its_claims_again() {
        let signer = SigningKey::from_bytes(&[1; 32]);
        let verified = VerifiedTokens::new(10);
        let (token, claims) = token(&signer, 7, NOW);
        for _ in 0..3 {
            assert_eq!(
                verified.verify(&token, &signer.verifying_key(), NOW + 1),
                Ok(claims.clone())
            );
        }
        assert_eq!(verified.len(), 1);
    }

    #[test]
    fn a_token_remembered_under_one_key_is_refused_under_another() {
        let signer = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let verified = VerifiedTokens::new(10);
        let (token, _) = token(&signer, 7, NOW);
        assert!(
            verified
                .verify(&token, &signer.verifying_key(), NOW)
                .is_ok()
        );
        assert_eq!(
            verified.verify(&token, &other.verifying_key(), NOW),
            Err(ModelError::Token("bad signature"))
        );
    }

    #[test]
    fn a_remembered_token_expires_all_the_same() {
        let signer = SigningKey::from_bytes(&[1; 32]);
        let verified = VerifiedTokens::new(10);
        let (token, claims) = token(&signer, 7, NOW);
        assert!(
            verified
                .verify(&token, &signer.verifying_key(), NOW)
                .is_ok()
        );
        assert_eq!(
            verified.verify(&token, &signer.verifying_key(), claims.exp),
            Err(ModelError::Token("expired"))
        );
    }

    #[test]
    fn tokens_that_do_not_verify_are_not_remembered() {
        let signer = SigningKey::from_bytes(&[1; 32]);
        let verified = VerifiedTokens::new(10);
        let (token, _) = token(&signer, 7, NOW);
        let forged = format!("{}A", &token[..token.len() - 1]);
        for _ in 0..2 {
            assert!(
                verified
                    .verify(&forged, &signer.verifying_key(), NOW)
                    .is_err()
            );
        }
        assert!(verified.is_empty());
    }

    #[test]
    fn a_full_cache_lets_expired_tokens_go_first_then_all() {
        let signer = SigningKey::from_bytes(&[1; 32]);
        let key = signer.verifying_key();
        let verified = VerifiedTokens::new(3);
        let (old, old_claims) = token(&signer, 1, NOW - auth::SESSION_TTL_SECONDS + 10);
        assert!(verified.verify(&old, &key, NOW).is_ok());
        for user in 2..=3 {
            assert!(
                verified
                    .verify(&token(&signer, user, NOW).0, &key, NOW)
                    .is_ok()
            );
        }
        // Full, at a time the first token has expired: only it goes.
        let later = old_claims.exp;
        assert!(
            verified
                .verify(&token(&signer, 4, later).0, &key, later)
                .is_ok()
        );
        assert_eq!(verified.len(), 3);
        // Full of live tokens: all go, and the new one is remembered.
        assert!(
            verified
                .verify(&token(&signer, 5, later).0, &key, later)
                .is_ok()
        );
        assert_eq!(verified.len(), 1);
    }
}

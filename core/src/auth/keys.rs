//! The Ed25519 key that signs access tokens.
//!
//! Only the core holds the private key; the public half is published at
//! `/.well-known/jwks.json` (and written next to a development key) for the edge to verify with.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use shared_model::ModelError;
use shared_model::auth::{self, Claims};
use shared_model::verified_tokens::VerifiedTokens;

use crate::config::{Environment, KeySource};

#[derive(Clone)]
pub struct TokenKeys {
    signing: SigningKey,
    verifying: VerifyingKey,
    verified: Arc<VerifiedTokens>,
}

/// Tokens remembered at most (about 200 bytes each): every signed-in buyer of a big sale
/// (each joins, and those admitted check out and pay), with room to spare.
const VERIFIED_TOKENS_CAP: usize = 200_000;

impl TokenKeys {
    pub fn from_signing_key(signing: SigningKey) -> Self {
        let verifying = signing.verifying_key();
        TokenKeys {
            signing,
            verifying,
            verified: Arc::new(VerifiedTokens::new(VERIFIED_TOKENS_CAP)),
        }
    }

    /// A fresh random key (tests, and the first start of a development shop).
    pub fn generate() -> Self {
        Self::from_signing_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem)
            .context("the JWT key must be an Ed25519 private key in PKCS#8 PEM form")?;
        Ok(Self::from_signing_key(signing))
    }

    /// Loads the configured key. In development a missing key file is created (with its public
    /// half beside it); in production a missing key is an error.
    pub fn load(source: &KeySource, environment: Environment) -> anyhow::Result<Self> {
        match source {
            KeySource::Pem(pem) => Self::from_pem(pem),
            KeySource::File(path) if path.exists() => {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the JWT key {}", path.display()))?;
                Self::from_pem(&pem)
            }
            KeySource::File(path) if environment == Environment::Development => {
                let keys = Self::generate();
                keys.write_pem_files(path)?;
                tracing::info!(path = %path.display(), "generated a development token-signing key");
                Ok(keys)
            }
            KeySource::File(path) => bail!("the JWT key file {} does not exist", path.display()),
        }
    }

    /// Writes the private key (owner-only) and `<name>.pub.pem` beside it.
    pub fn write_pem_files(&self, private_path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = private_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let private = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the key")?;
        write_private(private_path, private.as_bytes())?;
        let public = self
            .verifying
            .to_public_key_pem(LineEnding::LF)
            .context("encoding the public key")?;
        std::fs::write(private_path.with_extension("pub.pem"), public)
            .context("writing the public key")?;
        Ok(())
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ModelError> {
        auth::sign(claims, &self.signing)
    }

    /// Verifies an access token; its signature is checked once (see [`VerifiedTokens`]).
    /// Sessions are still checked by the guard.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, ModelError> {
        self.verified.verify(token, &self.verifying, now_unix)
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// The public key as a JSON Web Key Set (RFC 8037 OKP), for verifiers such as the edge.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.key_id(),
                "x": URL_SAFE_NO_PAD.encode(self.verifying.as_bytes()),
            }]
        })
    }

    /// A short, stable id of the public key.
    pub fn key_id(&self) -> String {
        use sha2::{Digest, Sha256};
        hex_prefix(&Sha256::digest(self.verifying.as_bytes()), 8)
    }
}

fn hex_prefix(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_key_is_created_once_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("edgeshop-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("jwt.pem");
        let source = KeySource::File(path.clone());
        let first = TokenKeys::load(&source, Environment::Development).unwrap();
        let again = TokenKeys::load(&source, Environment::Development).unwrap();
        assert_eq!(first.verifying_key(), again.verifying_key());
        assert!(path.with_extension("pub.pem").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn signed(keys: &TokenKeys, now: i64) -> (String, Claims) {
        let claims = Claims::new(
            shared_model::ids::UserId::new(7),
            shared_model::auth::Role::Customer,
            shared_model::ids::SessionId(uuid::Uuid::new_v4()),
            now,
        );
        (keys.sign(&claims).unwrap(), claims)
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let keys = TokenKeys::generate();
        let now = 1_800_000_000;
        let (token, claims) = signed(&keys, now);
        assert_eq!(keys.verify(&token, now).unwrap(), claims);
        assert_eq!(keys.verify(&token, now + 1).unwrap(), claims, "from memory");
        assert!(keys.verify(&token, claims.exp).is_err(), "expired");
    }

    #[test]
    fn only_the_exact_token_is_remembered() {
        let keys = TokenKeys::generate();
        let now = 1_800_000_000;
        let (token, _) = signed(&keys, now);
        keys.verify(&token, now).unwrap();
        // The same claims under another signature, and another key's token, are checked afresh.
        let mut tampered = token.clone().into_bytes();
        let i = tampered.len() - 10;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(keys.verify(&tampered, now).is_err());
        let (foreign, _) = signed(&TokenKeys::generate(), now);
        assert!(keys.verify(&foreign, now).is_err());
    }

    #[test]
    fn production_never_invents_a_key() {
        let source = KeySource::File("/nonexistent/edgeshop/jwt.pem".into());
        assert!(TokenKeys::load(&source, Environment::Production).is_err());
        assert!(TokenKeys::from_pem("not a key").is_err());
    }
}

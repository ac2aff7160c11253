//! The admission key: the secret the waiting room's tickets and admissions are signed with.
//! The core signs tickets when a buyer joins and checks admissions at checkout; the edge,
//! holding the same secret, checks tickets and signs admissions without asking the core.

use anyhow::{Context, bail};
use rand::RngCore;
use shared_model::flash_sale::AdmissionKey;

use crate::auth::keys::write_private;
use crate::config::{Environment, SecretSource};

/// Loads the configured key. In development a missing key file is created with a random
/// secret; in production a missing key is an error.
pub fn load(source: &SecretSource, environment: Environment) -> anyhow::Result<AdmissionKey> {
    let secret = match source {
        SecretSource::Text(text) => text.clone(),
        SecretSource::File(path) if path.exists() => std::fs::read_to_string(path)
            .with_context(|| format!("reading the admission key {}", path.display()))?,
        SecretSource::File(path) if environment == Environment::Development => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            write_private(path, secret.as_bytes())?;
            tracing::info!(path = %path.display(), "generated a development admission key");
            secret
        }
        SecretSource::File(path) => {
            bail!("the admission key file {} does not exist", path.display())
        }
    };
    AdmissionKey::from_secret(&secret).map_err(|e| anyhow::anyhow!("the admission key {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_key_is_created_once_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("admission-{}", uuid::Uuid::new_v4()));
        let path = dir.join("admission.key");
        let source = SecretSource::File(path.clone());
        load(&source, Environment::Development).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        load(&source, Environment::Development).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        assert!(
            load(
                &SecretSource::File(dir.join("missing")),
                Environment::Production
            )
            .is_err()
        );
        assert!(load(&SecretSource::Text("short".into()), Environment::Production).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}

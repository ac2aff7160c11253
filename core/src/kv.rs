//! The Redis connection shared by caches, sessions and (later) stock counters.
//!
//! The core starts and serves even when Redis is down: the connection is made on first use
//! and re-made after failures, and every caller decides what "Redis unavailable" means for it
//! (caches fall through to PostgreSQL; sessions cannot be checked, so auth answers 503).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    prefix: Arc<str>,
    connection: Arc<OnceCell<ConnectionManager>>,
}

impl Redis {
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Redis {
            client: redis::Client::open(url)?,
            prefix: Arc::from(prefix),
            connection: Arc::new(OnceCell::new()),
        })
    }

    /// The full key for `name`, under this shop's prefix.
    pub fn key(&self, name: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(name);
        key
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A multiplexed connection; cheap to clone, reconnects by itself after a failure.
    pub async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Duration::from_millis(500))
                    .set_response_timeout(Duration::from_millis(500))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
    }
}

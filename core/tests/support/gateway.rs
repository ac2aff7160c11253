//! The sandbox payment gateway, started in-process on a real socket for a test.

use std::time::Duration;

use edgeshop_core::payments::{BreakerSettings, GatewayClient, GatewaySettings, RetryPolicy};

pub const SECRET: &str = "sk_test_checkout";

pub struct Gateway {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// `timeout_delay`: how late `tok_timeout` answers.
    pub async fn start(timeout_delay: Duration) -> Self {
        let (address, task) = edgeshop_gateway::spawn(edgeshop_gateway::GatewayConfig {
            secret_key: SECRET.into(),
            timeout_token_delay: timeout_delay,
        })
        .await
        .expect("gateway starts");
        Gateway {
            url: format!("http://{address}"),
            task,
        }
    }

    /// A client that gives up on an attempt after `attempt_timeout` and retries quickly.
    pub fn client(&self, attempt_timeout: Duration) -> GatewayClient {
        let mut settings = GatewaySettings::new(&self.url, SECRET);
        settings.attempt_timeout = attempt_timeout;
        settings.retry = RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            attempts: 5,
        };
        settings.breaker = BreakerSettings::default();
        GatewayClient::new(settings).expect("client")
    }

    /// Every charge the gateway made, newest first.
    pub async fn charges(&self) -> Vec<serde_json::Value> {
        let list: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/v1/charges", self.url))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("list charges")
            .json()
            .await
            .expect("json");
        list["data"].as_array().cloned().unwrap_or_default()
    }

    pub async fn captures(&self) -> usize {
        self.charges()
            .await
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .count()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! Shared helpers: start a gateway on a real socket and speak to it with reqwest.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use edgeshop_gateway::GatewayConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const KEY: &str = "sk_test_edgeshop";
pub const TIMEOUT_DELAY: Duration = Duration::from_millis(300);

pub struct Gateway {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

pub struct Answer {
    pub status: StatusCode,
    pub replayed: bool,
    pub body: Value,
}

impl Gateway {
    pub async fn start() -> Gateway {
        let config = GatewayConfig {
            timeout_token_delay: TIMEOUT_DELAY,
            ..GatewayConfig::default()
        };
        let (addr, server) = edgeshop_gateway::spawn(config).await.unwrap();
        Gateway {
            addr,
            http: reqwest::Client::new(),
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(KEY)
            .header("Idempotency-Key", key)
            .json(body);
        answer(request).await
    }

    pub async fn charge(&self, key: &str, body: &Value) -> Answer {
        self.post("/v1/charges", key, body).await
    }

    pub async fn refund(&self, key: &str, body: &Value) -> Answer {
        self.post("/v1/refunds", key, body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        answer(self.http.get(self.url(path)).bearer_auth(KEY)).await
    }

    /// Every charge the gateway holds, newest first.
    pub async fn all_charges(&self) -> Vec<Value> {
        let list = self.get("/v1/charges").await;
        assert_eq!(list.status, StatusCode::OK);
        list.body["data"].as_array().unwrap().clone()
    }

    pub async fn captured_count(&self) -> usize {
        self.all_charges()
            .await
            .iter()
            .filter(|c| c["captured"] == json!(true))
            .count()
    }
}

pub async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let body = response.json().await.unwrap();
    Answer {
        status,
        replayed,
        body,
    }
}

pub fn visa(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD", "source": "tok_visa"})
}

pub fn with_source(amount: &str, source: &str) -> Value {
    json!({"amount": amount, "currency": "USD", "source": source})
}

pub fn error_code(answer: &Answer) -> &str {
    answer.body["error"]["code"]
        .as_str()
        .unwrap_or("<no error code>")
}

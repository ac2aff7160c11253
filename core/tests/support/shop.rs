//! A shop ready to sell: the application paying through a real sandbox gateway on a socket,
//! the small catalog, and a signed-in buyer with one address.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared_model::auth::Role;

use super::fixtures::{SmallCatalog, small_catalog};
use super::gateway::Gateway;
use super::{TestApp, TestUser, redis_url, test_config_with};

pub struct Shop {
    pub app: TestApp,
    pub gateway: Gateway,
    pub catalog: SmallCatalog,
    pub buyer: TestUser,
    /// The buyer's address id.
    pub address: String,
}

/// Springfield, Illinois.
pub fn illinois() -> Value {
    json!({"streetAddress": "1 Main St", "city": "Springfield", "state": "IL", "postalCode": "62701", "country": "US"})
}

/// Austin, Texas.
pub fn texas() -> Value {
    json!({"streetAddress": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "73301", "country": "US"})
}

impl Shop {
    /// `config` adds to the test configuration; the gateway answers `tok_timeout` after
    /// `gateway_delay`, and the core gives up on an attempt after 400 ms.
    pub async fn open(
        db: sqlx::PgPool,
        config: &[(&str, String)],
        gateway_delay: Duration,
        address: Value,
    ) -> Shop {
        let gateway = Gateway::start(gateway_delay).await;
        let mut settings = vec![("PAYMENT_GATEWAY_URL", gateway.url.clone())];
        settings.extend(config.iter().cloned());
        let mut app = TestApp::with_config(db.clone(), test_config_with(&redis_url(), &settings));
        app.state.services_mut().gateway = gateway.client(Duration::from_millis(400));
        app.rebuild();
        let catalog = small_catalog(&db).await;
        let buyer = app.user(Role::Customer).await;
        let address = app
            .post("/api/users/me/addresses")
            .bearer(&buyer.token)
            .json(&address)
            .send()
            .await
            .json["addressId"]
            .as_str()
            .expect("the address was saved")
            .to_owned();
        Shop {
            app,
            gateway,
            catalog,
            buyer,
            address,
        }
    }

    /// A checkout of two drizzles and one blue aster; answers its id.
    pub async fn start_checkout(&self) -> String {
        let c = &self.catalog;
        let started = self
            .app
            .post("/api/checkout/initiate")
            .bearer(&self.buyer.token)
            .json(&json!({"items": [
                {"productId": c.drizzle.to_string(), "quantity": 2},
                {"productId": c.aster.to_string(), "variantId": c.aster_blue.to_string(), "quantity": 1}
            ], "shippingAddressId": self.address}))
            .send()
            .await;
        started.expect(StatusCode::CREATED);
        started.json["checkoutId"].as_str().unwrap().to_owned()
    }
}

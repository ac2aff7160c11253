//! One storefront scenario, run over HTTP against the edge on each Wasm runtime, in front of a
//! real core (PostgreSQL, Redis, the sandbox gateway): browse, filter, add to a guest cart,
//! register (the guest cart merges), check out from the cart, pay, see the order; bad input
//! is refused at the edge; a core that goes away gets a clear error and the cart is kept.

use serde_json::{Value, json};

use crate::edge_runtime::EdgeRuntime;
use crate::{
    Admin, Scratch, ServerProcess, TestDatabase, create_admin_user, paying_core_env, run_core,
};

const SECRET: &str = "sk_test_storefront";
/// Shared by the core and the edge: the edge's cart snapshots carry it.
pub const EDGE_SECRET: &str = "edge-secret-storefront-test";
const PRICE: &str = "25.00";

/// A real core with a sandbox gateway, a small seeded catalog and one product in stock.
pub struct Shop {
    pub database: TestDatabase,
    pub scratch: Scratch,
    pub gateway: ServerProcess,
    pub core: Option<ServerProcess>,
    pub product: String,
    /// The core's token key as the edge is configured with it (the JWKS `x`).
    pub jwt_key: String,
    /// The core's environment, for its one-shot commands.
    pub env: Vec<(String, String)>,
}

impl Shop {
    pub async fn open() -> Self {
        let database = TestDatabase::fresh();
        let scratch = Scratch::new();
        let gateway = ServerProcess::start_gateway(SECRET, 2_000).expect("the gateway starts");
        let mut env = paying_core_env(&database, &scratch.0, &gateway, SECRET);
        env.push(("EDGESHOP_EDGE_SECRET".into(), EDGE_SECRET.into()));
        // Checkouts walked away from are released within a second of their expiry.
        env.push(("EDGESHOP_SWEEP_INTERVAL_SECONDS".into(), "1".into()));
        let (ok, out, err) = run_core(&env, &["seed", "--products", "40"]);
        assert!(ok, "seeding: {out}{err}");
        create_admin_user(&env, "ops@example.com", "operator-password");
        let core = ServerProcess::start(&env).expect("the core starts");
        let http = reqwest::Client::new();
        let admin = Admin::sign_in(
            &http,
            &core.base_url,
            "ops@example.com",
            "operator-password",
        )
        .await;
        let product = admin
            .create_product(json!({"name": "Edge Mug", "basePrice": PRICE, "sku": "EDGE-MUG", "maxQuantityPerOrder": 5}))
            .await;
        admin.set_stock(&product, 10).await;
        let jwks: Value = http
            .get(core.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("the core answers")
            .json()
            .await
            .expect("a JWKS");
        let jwt_key = jwks["keys"][0]["x"]
            .as_str()
            .expect("an Ed25519 key")
            .to_owned();
        Shop {
            database,
            scratch,
            gateway,
            core: Some(core),
            product,
            jwt_key,
            env,
        }
    }

    /// The edge as a Spin component in front of this core.
    pub async fn edge_on_spin(&self) -> anyhow::Result<EdgeRuntime> {
        EdgeRuntime::spin(
            &self.core_url(),
            &self.jwt_key,
            EDGE_SECRET,
            &self.scratch.0,
            &[],
        )
        .await
    }

    /// The edge as a Worker under `wrangler dev` in front of this core.
    pub async fn edge_on_workers(&self) -> anyhow::Result<EdgeRuntime> {
        EdgeRuntime::wrangler(
            &self.core_url(),
            &self.jwt_key,
            EDGE_SECRET,
            &self.scratch.0,
            &[],
        )
        .await
    }

    pub fn core_url(&self) -> String {
        self.core
            .as_ref()
            .expect("the core is running")
            .base_url
            .clone()
    }

    pub async fn close(mut self) {
        self.core.take();
        let Shop { database, .. } = self;
        database.drop().await.expect("dropping the test database");
    }
}

/// What one call to the edge answered.
pub struct Answer {
    pub status: u16,
    pub set_cookie: Option<String>,
    pub body: Value,
}

/// A buyer's browser, without JS: the guest cart travels in `X-Cart-Id`, the sign-in as a token.
pub struct Browser {
    http: reqwest::Client,
    edge: String,
    pub token: Option<String>,
    pub cart: Option<String>,
}

impl Browser {
    pub fn new(edge: &str) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            edge: edge.to_owned(),
            token: None,
            cart: None,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.edge));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(cart) = &self.cart {
            request = request.header("x-cart-id", cart);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the edge answers");
        let status = response.status().as_u16();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            set_cookie,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body), None)
            .await
    }
}

fn expect(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
}

/// The whole scenario against the edge at `edge`. Stops the shop's core at the end.
pub async fn shop_at_the_edge(shop: &mut Shop, edge: &str) {
    let mut browser = Browser::new(edge);
    let product = shop.product.clone();

    // Browse and filter: forwarded to the core.
    let categories = browser.get("/api/categories").await;
    expect(&categories, 200, "categories");
    assert!(!categories.body.as_array().expect("a tree").is_empty());
    let cheap = browser
        .get("/api/products?maxPrice=25.00&sort=price_asc&size=50")
        .await;
    expect(&cheap, 200, "a filtered listing");
    let listed = cheap.body["products"].as_array().expect("products");
    assert!(
        listed.iter().any(|p| p["productId"] == product.as_str()),
        "the 25.00 mug is under maxPrice=25.00: {}",
        cheap.body
    );
    assert!(listed.iter().all(|p| {
        let price: f64 = p["salePrice"]
            .as_str()
            .or(p["price"].as_str())
            .and_then(|t| t.parse().ok())
            .unwrap_or(f64::MAX);
        price <= 25.0
    }));
    // The same, as pages rendered at the edge.
    let home = browser.get("/").await;
    expect(&home, 200, "the home page");
    let home = home.body.as_str().expect("HTML").to_owned();
    assert!(
        home.contains("href=\"/c/"),
        "the category tree links its categories"
    );
    let page = browser.get(&format!("/p/{product}")).await;
    expect(&page, 200, "the product page");
    let page = page.body.as_str().expect("HTML").to_owned();
    assert!(
        page.contains("Edge Mug") && page.contains("$25.00"),
        "{page}"
    );
    assert!(page.contains("In stock"), "{page}");

    let detail = browser.get(&format!("/api/products/{product}")).await;
    expect(&detail, 200, "the product from the edge cache");
    assert_eq!(detail.body["price"], PRICE);

    // Bad input is refused at the edge.
    let huge = browser
        .post(
            "/api/cart/items",
            json!({"productId": product, "quantity": 10000}),
        )
        .await;
    expect(&huge, 400, "quantity 10000");
    assert_eq!(huge.body["error"]["field"], "quantity");
    let unknown = browser
        .post(
            "/api/cart/items",
            json!({"productId": "999999", "quantity": 1}),
        )
        .await;
    expect(&unknown, 404, "an unknown product");
    browser.token = Some("eyJhbGciOiJFZERTQSJ9.e30.forged".into());
    expect(&browser.get("/api/cart").await, 401, "a forged token");
    browser.token = None;

    // A guest cart, named by the id the edge hands out.
    let added = browser
        .post(
            "/api/cart/items",
            json!({"productId": product, "quantity": 2}),
        )
        .await;
    expect(&added, 200, "adding as a guest");
    let cart_id = added.body["cartId"].as_str().expect("a cart id").to_owned();
    assert!(
        added
            .set_cookie
            .as_deref()
            .is_some_and(|c| c.contains(&cart_id))
    );
    assert_eq!(added.body["subtotal"]["amount"], "50.00");
    browser.cart = Some(cart_id.clone());
    expect(&browser.get("/api/cart").await, 200, "the guest cart");

    // Registering through the edge merges the guest cart into the new buyer's.
    let email = format!("buyer-{}@example.com", uuid::Uuid::new_v4().simple());
    let registered = browser
        .post(
            "/api/auth/register",
            json!({"email": email, "password": "buyer-password", "firstName": "Ada"}),
        )
        .await;
    expect(&registered, 201, "registering");
    assert_eq!(registered.body["cartMerge"]["cart"]["itemCount"], 2);
    browser.token = Some(
        registered.body["accessToken"]
            .as_str()
            .expect("a token")
            .to_owned(),
    );
    browser.cart = None;
    let mine = browser.get("/api/cart").await;
    expect(&mine, 200, "the buyer's cart");
    assert_eq!(mine.body["itemCount"], 2);
    // The same token with its signature's first byte changed: well formed, and refused by the
    // signature check (the runtime's own Ed25519 in a Worker, the edge's in Spin).
    let real = browser.token.clone().expect("signed in");
    let (signed, signature) = real.rsplit_once('.').expect("a compact JWT");
    let changed = if signature.starts_with('A') { 'B' } else { 'A' };
    browser.token = Some(format!("{signed}.{changed}{}", &signature[1..]));
    expect(
        &browser.get("/api/cart").await,
        401,
        "a token with a changed signature",
    );
    browser.token = Some(real);

    let address = browser
        .post(
            "/api/users/me/addresses",
            json!({"streetAddress": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "73301", "country": "US"}),
        )
        .await;
    expect(&address, 201, "adding an address");
    let address_id = address.body["addressId"]
        .as_str()
        .expect("an address id")
        .to_owned();

    // Checkout from the cart: the edge sends the lines, the core prices and reserves them.
    let started = browser
        .call(
            reqwest::Method::POST,
            "/api/checkout/initiate",
            Some(json!({"shippingAddressId": address_id})),
            Some(&format!("initiate-{email}")),
        )
        .await;
    expect(&started, 201, "initiating checkout");
    assert_eq!(started.body["items"][0]["quantity"], 2);
    assert_eq!(started.body["subtotal"], "50.00");
    let checkout = started.body["checkoutId"]
        .as_str()
        .expect("a checkout id")
        .to_owned();
    let view = browser.get(&format!("/api/checkout/{checkout}")).await;
    expect(&view, 200, "the checkout's countdown");
    assert!(
        view.body["secondsRemaining"]
            .as_i64()
            .is_some_and(|s| s > 0)
    );

    let pay = json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"});
    let key = format!("pay-{email}");
    let paid = browser
        .call(
            reqwest::Method::POST,
            &format!("/api/checkout/{checkout}/pay"),
            Some(pay.clone()),
            Some(&key),
        )
        .await;
    expect(&paid, 200, "paying");
    assert_eq!(paid.body["status"], "CONFIRMED");
    let order_id = paid.body["orderId"]
        .as_str()
        .expect("an order id")
        .to_owned();
    // A double click: the same key, the same answer, one charge.
    let again = browser
        .call(
            reqwest::Method::POST,
            &format!("/api/checkout/{checkout}/pay"),
            Some(pay),
            Some(&key),
        )
        .await;
    expect(&again, 200, "paying again with the same key");
    assert_eq!(again.body["orderId"], order_id.as_str());

    // The order is there; the paid lines left the cart.
    let orders = browser.get("/api/orders").await;
    expect(&orders, 200, "the order history");
    assert!(
        orders.body.to_string().contains(&order_id),
        "{}",
        orders.body
    );
    let order = browser.get(&format!("/api/orders/{order_id}")).await;
    expect(&order, 200, "the order");
    assert_eq!(order.body["status"], "CONFIRMED");
    let emptied = browser.get("/api/cart").await;
    assert_eq!(emptied.body["itemCount"], 0, "{}", emptied.body);

    // The edge sent the core snapshots in the background: the guest cart, merged, and the
    // buyer's cart, now empty.
    let db = sqlx::PgPool::connect(&shop.database.url)
        .await
        .expect("the shop's database");
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses = sqlx::query_as::<_, (String, String, i64)>(
            "SELECT c.cart_id, c.status, count(i.cart_item_id)
               FROM carts c LEFT JOIN cart_items i USING (cart_id)
              GROUP BY c.cart_id, c.status ORDER BY c.cart_id",
        )
        .fetch_all(&db)
        .await
        .expect("reading the carts");
        let merged = statuses
            .iter()
            .any(|(id, status, _)| *id == cart_id && status == "MERGED");
        let buyers_empty = statuses
            .iter()
            .any(|(id, status, lines)| *id != cart_id && status == "ACTIVE" && *lines == 0);
        if merged && buyers_empty {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        statuses
            .iter()
            .any(|(id, status, _)| *id == cart_id && status == "MERGED"),
        "the guest cart's snapshot says MERGED: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .any(|(id, status, lines)| *id != cart_id && status == "ACTIVE" && *lines == 0),
        "the buyer's snapshot is the emptied cart: {statuses:?}"
    );
    db.close().await;

    // The core goes away: a clear error, never a hung request; the cart is kept.
    expect(
        &browser
            .post(
                "/api/cart/items",
                json!({"productId": product, "quantity": 1}),
            )
            .await,
        200,
        "adding again",
    );
    shop.core.take();
    let down = browser.get("/api/orders").await;
    assert!(
        [502, 504].contains(&down.status),
        "a core that is down: {} {}",
        down.status,
        down.body
    );
    assert!(
        down.body["error"]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("core_"))
    );
    let kept = browser.get("/api/cart").await;
    expect(&kept, 200, "the cart while the core is down");
    assert_eq!(kept.body["itemCount"], 1);
}

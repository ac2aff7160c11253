//! Support for the end-to-end tests: build the real binaries, give each test a database and a
//! Redis prefix of its own, start processes and find the port they chose, stop them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::migrate::MigrateDatabase;

pub mod edge_runtime;
pub mod stalled_core;
pub mod storefront;

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

/// Builds a workspace binary (once per test process) and answers its path. Cargo's own JSON
/// messages say where the executable went, whatever the target directory is.
pub fn binary(package: &str, name: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let path = cargo_build(&["-p", package, "--bin", name])
        .into_iter()
        .filter(|m| m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable");
    built.push((name.to_owned(), path.clone()));
    path
}

/// Runs `cargo build` with `args` and answers what cargo reported it built (its JSON
/// `compiler-artifact` messages), so callers find outputs whatever the target directory is.
pub fn cargo_build(args: &[&str]) -> Vec<serde_json::Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo build");
    assert!(output.status.success(), "cargo build {args:?} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .collect()
}

pub fn core_binary() -> PathBuf {
    binary("edgeshop-core", "edgeshop-core")
}

/// A database of the test's own, dropped by [`TestDatabase::drop`].
pub struct TestDatabase {
    pub url: String,
}

impl TestDatabase {
    /// A name that does not exist yet (the core creates it in development mode).
    pub fn fresh() -> Self {
        let base = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop".to_owned());
        let server = base
            .rsplit_once('/')
            .map(|(server, _)| server)
            .unwrap_or(&base);
        TestDatabase {
            url: format!("{server}/e2e_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        if sqlx::Postgres::database_exists(&self.url).await? {
            sqlx::Postgres::force_drop_database(&self.url).await?;
        }
        Ok(())
    }
}

/// The environment a core process needs, isolated for one test.
pub fn core_env(database: &TestDatabase, scratch: &Path) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), database.url.clone()),
        (
            "REDIS_URL".into(),
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ),
        (
            "REDIS_KEY_PREFIX".into(),
            format!("e2e:{}:", uuid::Uuid::new_v4().simple()),
        ),
        ("EDGESHOP_BIND".into(), "127.0.0.1:0".into()),
        (
            "EDGESHOP_JWT_PRIVATE_KEY_FILE".into(),
            scratch.join("jwt.pem").display().to_string(),
        ),
        (
            "EDGESHOP_ADMISSION_KEY_FILE".into(),
            scratch.join("admission.key").display().to_string(),
        ),
        ("EDGESHOP_ENV".into(), "development".into()),
        // Every simulated buyer comes from 127.0.0.1, many per second: the rate limits have
        // tests of their own.
        ("EDGESHOP_RATE_LIMIT_PER_BUYER".into(), "0".into()),
        ("EDGESHOP_RATE_LIMIT_PER_IP".into(), "0".into()),
        ("EDGESHOP_MAX_CONCURRENT_CHECKOUTS".into(), "0".into()),
        ("RUST_LOG".into(), "warn".into()),
    ]
}

/// [`core_env`] for a core that pays through `gateway`, a sandbox gateway started with `secret`.
pub fn paying_core_env(
    database: &TestDatabase,
    scratch: &Path,
    gateway: &ServerProcess,
    secret: &str,
) -> Vec<(String, String)> {
    let mut env = core_env(database, scratch);
    env.push(("PAYMENT_GATEWAY_URL".into(), gateway.base_url.clone()));
    env.push(("PAYMENT_GATEWAY_SECRET_KEY".into(), secret.into()));
    env
}

/// Runs a one-shot subcommand of the core and answers (success, stdout, stderr).
pub fn run_core(env: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let output = Command::new(core_binary())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("running edgeshop-core");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running server process (the core or the gateway), killed when dropped.
pub struct ServerProcess {
    pub base_url: String,
    child: Child,
}

/// The core under `edgeshop-core serve`.
pub type CoreProcess = ServerProcess;

impl ServerProcess {
    /// Starts `edgeshop-core serve` and waits for the line that names its address.
    pub fn start(env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::spawn(Command::new(core_binary()).arg("serve"), env)
    }

    /// Starts the sandbox payment gateway on a free port.
    pub fn start_gateway(secret: &str, timeout_delay_ms: u64) -> anyhow::Result<Self> {
        let env = vec![
            ("GATEWAY_BIND".to_owned(), "127.0.0.1:0".to_owned()),
            ("GATEWAY_SECRET_KEY".to_owned(), secret.to_owned()),
            (
                "GATEWAY_TIMEOUT_TOKEN_DELAY_MS".to_owned(),
                timeout_delay_ms.to_string(),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        Self::spawn(
            &mut Command::new(binary("edgeshop-gateway", "edgeshop-gateway")),
            &env,
        )
    }

    fn spawn(command: &mut Command, env: &[(String, String)]) -> anyhow::Result<Self> {
        let mut child = command
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a server process")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base_url) => Ok(ServerProcess { base_url, child }),
            Err(_) => {
                let _ = child.kill();
                bail!("the server did not report its address within 60 s")
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end by itself (a crash-test hook aborting it).
    pub fn wait_for_exit(mut self, within: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                bail!("the process did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits: answers whether the process exited cleanly.
    pub fn terminate(mut self) -> anyhow::Result<bool> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the process did not stop within 10 s of SIGTERM")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("edgeshop-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating a scratch folder");
        Scratch(dir)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Redis server of the test's own, for tests that break Redis (FLUSHALL, stop, restart)
/// without disturbing the tests that share the machine's Redis.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, empty: Redis keeps nothing on disk here.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server: connections fail until [`RedisServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn flushall(&self) {
        let status = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "FLUSHALL"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli is installed");
        assert!(status.success());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// POSTs JSON (with a bearer token and an idempotency key when given); answers the status and
/// the JSON body (`null` when there is none).
pub async fn post_json(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: serde_json::Value,
    key: Option<String>,
) -> (u16, serde_json::Value) {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// A registered buyer with a US shipping address.
pub struct Buyer {
    pub token: String,
    pub address: String,
}

/// Registers `count` buyers across the given cores (a few at a time: this is setup, not load).
pub async fn register_buyers(
    http: &reqwest::Client,
    cores: &[String],
    prefix: &str,
    count: usize,
) -> Vec<Buyer> {
    use futures_util::StreamExt;
    futures_util::stream::iter((0..count).map(|i| {
        let base = cores[i % cores.len()].clone();
        let http = http.clone();
        let email = format!("{prefix}{i}@example.com");
        async move {
            let (status, registered) = post_json(
                &http,
                format!("{base}/api/auth/register"),
                None,
                serde_json::json!({"email": email, "password": "buyer-password", "firstName": "Buyer"}),
                None,
            )
            .await;
            assert_eq!(status, 201, "{registered}");
            let token = registered["accessToken"].as_str().expect("a token").to_owned();
            let (_, address) = post_json(
                &http,
                format!("{base}/api/users/me/addresses"),
                Some(&token),
                serde_json::json!({"streetAddress": format!("{i} Main St"), "city": "Austin", "state": "TX", "postalCode": "73301", "country": "US"}),
                None,
            )
            .await;
            let address = address["addressId"].as_str().unwrap_or_else(|| panic!("buyer {i} has no address: {address}"));
            Buyer { token, address: address.to_owned() }
        }
    }))
    .buffered(32)
    .collect()
    .await
}

/// One buyer's attempt at `product`: `Ok(Some(total))` confirmed for that total, `Ok(None)`
/// told "sold out". Reserves through one core and pays through another, as a buyer whose
/// requests land on different processes would.
pub async fn buy(
    http: &reqwest::Client,
    reserve_at: &str,
    pay_at: &str,
    buyer: &Buyer,
    product: &str,
    key: String,
) -> Result<Option<rust_decimal::Decimal>, String> {
    let (status, started) = post_json(
        http,
        format!("{reserve_at}/api/checkout/initiate"),
        Some(&buyer.token),
        serde_json::json!({"items": [{"productId": product, "quantity": 1}], "shippingAddressId": buyer.address}),
        None,
    )
    .await;
    match status {
        409 if started["error"]["code"] == "out_of_stock" => Ok(None),
        201 => {
            let checkout = started["checkoutId"].as_str().unwrap_or_default();
            let (status, paid) = post_json(
                http,
                format!("{pay_at}/api/checkout/{checkout}/pay"),
                Some(&buyer.token),
                serde_json::json!({"paymentMethod": "CARD", "paymentToken": "tok_visa"}),
                Some(key),
            )
            .await;
            match paid["total"].as_str().and_then(|t| t.parse().ok()) {
                Some(total) if status == 200 && paid["status"] == "CONFIRMED" => Ok(Some(total)),
                _ => Err(format!("pay answered {status}: {paid}")),
            }
        }
        _ => Err(format!("initiate answered {status}: {started}")),
    }
}

impl ServerProcess {
    /// The amounts of every charge a sandbox gateway captured (status `succeeded`).
    pub async fn captured_charges(
        &self,
        http: &reqwest::Client,
        secret: &str,
    ) -> Vec<rust_decimal::Decimal> {
        let charges: serde_json::Value = http
            .get(self.url("/v1/charges"))
            .bearer_auth(secret)
            .send()
            .await
            .expect("the gateway answers")
            .json()
            .await
            .expect("a charge list");
        charges["data"]
            .as_array()
            .expect("charges under data")
            .iter()
            .filter(|c| c["status"] == "succeeded")
            .map(|c| {
                c["amount"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("a charge without an amount: {c}"))
            })
            .collect()
    }
}

/// A signed-in admin of one core, for setting up what a sale needs through the real API.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    pub token: String,
}

impl Admin {
    pub async fn sign_in(http: &reqwest::Client, base: &str, email: &str, password: &str) -> Self {
        let (status, login) = post_json(
            http,
            format!("{base}/api/auth/login"),
            None,
            serde_json::json!({"email": email, "password": password}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{login}");
        Admin {
            http: http.clone(),
            base: base.to_owned(),
            token: login["accessToken"]
                .as_str()
                .expect("admin token")
                .to_owned(),
        }
    }

    async fn get(&self, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the core answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// Creates a product in the first category (`fields` adds to or overrides name, brand,
    /// price and currency) and answers its id.
    pub async fn create_product(&self, fields: serde_json::Value) -> String {
        let category = self.get("/api/categories").await[0]["categoryId"].clone();
        let mut body =
            serde_json::json!({"brand": "Edgeshop", "categoryId": category, "currency": "USD"});
        for (key, value) in fields.as_object().expect("fields as an object") {
            body[key] = value.clone();
        }
        let (status, product) = post_json(
            &self.http,
            format!("{}/api/admin/products", self.base),
            Some(&self.token),
            body,
            None,
        )
        .await;
        assert_eq!(status, 201, "{product}");
        product["productId"]
            .as_str()
            .expect("a product id")
            .to_owned()
    }

    /// Sets the product's stock in the first warehouse.
    pub async fn set_stock(&self, product: &str, units: i64) {
        let warehouse = self.get("/api/admin/warehouses").await[0]["warehouseId"].clone();
        let put = self
            .http
            .put(format!("{}/api/admin/inventory", self.base))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"productId": product, "warehouseId": warehouse, "quantityTotal": units}))
            .send()
            .await
            .expect("the core answers");
        assert_eq!(put.status(), 200, "setting the stock of {product}");
    }
}

/// Creates an admin account with the core's CLI (`edgeshop-core user create --role admin`).
pub fn create_admin_user(env: &[(String, String)], email: &str, password: &str) {
    let (ok, out, err) = run_core(
        env,
        &[
            "user",
            "create",
            "--email",
            email,
            "--password",
            password,
            "--role",
            "admin",
        ],
    );
    assert!(ok, "creating the admin: {out}{err}");
}

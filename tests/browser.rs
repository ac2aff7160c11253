//! A real browser on the storefront: headless Chromium (driven over WebDriver by chromedriver)
//! browses the edge's pages without any client framework, adds to the cart, registers, checks
//! out and pays in front of a real core. A screenshot of each main page is written to
//! `test-artifacts/browser/` (or `$EDGESHOP_TEST_ARTIFACTS`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgeshop_tests::storefront::Shop;
use edgeshop_tests::workspace;
use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver on a free port, stopped when dropped.
struct ChromeDriver {
    url: String,
    child: Child,
}

impl ChromeDriver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/services.sh ensure_browser)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        ChromeDriver {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("EDGESHOP_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("test-artifacts"))
        .join("browser");
    std::fs::create_dir_all(&dir).expect("an artifacts folder");
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(artifacts().join(format!("{name}.png")), png).expect("writing a screenshot");
}

async fn text(browser: &Client) -> String {
    browser
        .find(Locator::Css("main"))
        .await
        .expect("a main element")
        .text()
        .await
        .expect("its text")
}

async fn path(browser: &Client) -> String {
    browser
        .current_url()
        .await
        .expect("a URL")
        .path()
        .to_owned()
}

/// Waits for the navigation a click started to land on `target` (a path, or a prefix when it
/// ends with `/`): a click returns once the browser has the event, and a form post's answer can
/// come later. Fails with the page the browser shows instead.
async fn arrive_at(browser: &Client, target: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now_at = path(browser).await;
        if now_at == target || (target.ends_with('/') && now_at.starts_with(target)) {
            return;
        }
        if Instant::now() > deadline {
            let shown = browser.source().await.unwrap_or_default();
            panic!("expected to arrive at {target}, but the browser shows {now_at}:\n{shown}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buyer_shops_in_a_real_browser() {
    let shop = Shop::open().await;
    let edge = shop
        .edge_on_spin()
        .await
        .expect("the edge serves the storefront");
    let driver = ChromeDriver::start();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024"],
        }),
    );
    // chromedriver is plain HTTP, but the client is built on rustls, which must be told which
    // crypto backend to use when the build enables several.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = ClientBuilder::rustls()
        .expect("a WebDriver client")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");

    // Browse: the category tree, a category's listing.
    browser.goto(&edge.url("/")).await.unwrap();
    assert!(text(&browser).await.contains("Shop by category"));
    screenshot(&browser, "home").await;
    browser
        .find(Locator::Css("nav[aria-label=Categories] a"))
        .await
        .expect("a category link")
        .click()
        .await
        .unwrap();
    arrive_at(&browser, "/c/").await;
    assert!(text(&browser).await.contains("products"));
    screenshot(&browser, "category").await;

    // The product page, and into the cart with the page's own form.
    browser
        .goto(&edge.url(&format!("/p/{}", shop.product)))
        .await
        .unwrap();
    let product = text(&browser).await;
    assert!(
        product.contains("Edge Mug") && product.contains("In stock"),
        "{product}"
    );
    screenshot(&browser, "product").await;
    browser
        .find(Locator::Css(
            "form[action='/cart/items'] button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive_at(&browser, "/cart").await;
    let cart = text(&browser).await;
    assert!(
        cart.contains("Edge Mug") && cart.contains("$25.00"),
        "{cart}"
    );
    screenshot(&browser, "cart").await;

    // Checkout asks to sign in; a new buyer registers and comes back with the cart.
    browser
        .find(Locator::LinkText("Proceed to checkout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive_at(&browser, "/login").await;
    screenshot(&browser, "login").await;
    browser
        .find(Locator::LinkText("Create an account"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let email = format!("browser-{}@example.com", uuid::Uuid::new_v4().simple());
    let form = browser
        .form(Locator::Css("form[action='/register']"))
        .await
        .unwrap();
    form.set_by_name("firstName", "Grace").await.unwrap();
    form.set_by_name("email", &email).await.unwrap();
    form.set_by_name("password", "browser-password")
        .await
        .unwrap();
    form.submit().await.unwrap();
    arrive_at(&browser, "/checkout").await;
    assert!(text(&browser).await.contains("1 item,"));

    let form = browser
        .form(Locator::Css("form[action='/checkout']"))
        .await
        .unwrap();
    form.set_by_name("streetAddress", "2 Elm St").await.unwrap();
    form.set_by_name("city", "Austin").await.unwrap();
    form.set_by_name("state", "TX").await.unwrap();
    form.set_by_name("postalCode", "73301").await.unwrap();
    screenshot(&browser, "checkout").await;
    form.submit().await.unwrap();
    arrive_at(&browser, "/checkout/").await;
    let pay = text(&browser).await;
    assert!(pay.contains("Your items are held for"), "{pay}");
    screenshot(&browser, "payment").await;

    let form = browser
        .form(Locator::Css("form[action$='/pay']"))
        .await
        .unwrap();
    form.set_by_name("paymentToken", "tok_visa").await.unwrap();
    form.submit().await.unwrap();
    arrive_at(&browser, "/orders/").await;
    let confirmation = text(&browser).await;
    assert!(confirmation.contains("is confirmed"), "{confirmation}");
    screenshot(&browser, "confirmation").await;

    browser.goto(&edge.url("/orders")).await.unwrap();
    assert!(text(&browser).await.contains("$"));
    screenshot(&browser, "orders").await;

    browser.close().await.unwrap();
    drop(driver);
    drop(edge);
    shop.close().await;
}

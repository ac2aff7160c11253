//! The real `edgeshop-core` binary, as the README runs it: seed a catalog, create an admin,
//! serve on a real socket, answer the catalog and auth APIs, stop cleanly on SIGTERM; and
//! refuse to start in production without real keys.

use edgeshop_tests::{CoreProcess, Scratch, TestDatabase, core_env, run_core};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn the_core_seeds_serves_and_stops_like_the_readme_says() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let env = core_env(&database, &scratch.0);

    let (ok, stdout, stderr) = run_core(&env, &["seed", "--products", "300"]);
    assert!(ok, "seed failed: {stdout}{stderr}");
    assert!(stdout.contains("seeded 300 products"), "{stdout}");
    let (ok, stdout, _) = run_core(&env, &["seed", "--products", "300"]);
    assert!(
        ok && stdout.contains("already seeded"),
        "a second seed must be a no-op: {stdout}"
    );

    let admin = [
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--password",
        "operator-password",
        "--role",
        "admin",
    ];
    let (ok, _, stderr) = run_core(&env, &admin);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run_core(&env, &admin);
    assert!(!ok && stderr.contains("already has an account"), "{stderr}");
    let mut if_missing = admin.to_vec();
    if_missing.push("--if-missing");
    assert!(run_core(&env, &if_missing).0);

    let core = CoreProcess::start(&env).expect("core starts");
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(core.url(path)).send();

    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready: Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let products = get("/api/products?size=5").await.unwrap();
    assert_eq!(products.status(), 200);
    assert!(products.headers().contains_key("x-correlation-id"));
    let products: Value = products.json().await.unwrap();
    assert_eq!(products["pagination"]["total"], 300);
    assert_eq!(products["products"].as_array().unwrap().len(), 5);
    let categories: Value = get("/api/categories").await.unwrap().json().await.unwrap();
    assert!(!categories.as_array().unwrap().is_empty());
    let first = products["products"][0]["productId"].as_str().unwrap();
    let detail: Value = get(&format!("/api/products/{first}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["productId"], first);

    let login: Value = http
        .post(core.url("/api/auth/login"))
        .json(&json!({"email": "ops@example.com", "password": "operator-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accessToken"].as_str().expect("admin signs in");
    let warehouses = http
        .get(core.url("/api/admin/warehouses"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(warehouses.status(), 200);

    assert!(
        core.terminate().unwrap(),
        "the core must exit cleanly on SIGTERM"
    );
    database.drop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn production_mode_refuses_to_start_without_real_keys() {
    let database = TestDatabase::fresh();
    let scratch = Scratch::new();
    let mut env: Vec<(String, String)> = core_env(&database, &scratch.0)
        .into_iter()
        .filter(|(k, _)| k != "EDGESHOP_JWT_PRIVATE_KEY_FILE" && k != "EDGESHOP_ENV")
        .collect();
    env.push(("EDGESHOP_ENV".into(), "production".into()));
    let (ok, _, stderr) = run_core(&env, &["serve"]);
    assert!(!ok);
    assert!(stderr.contains("EDGESHOP_JWT_PRIVATE_KEY"), "{stderr}");
    // Nothing was created on the way out.
    assert!(!scratch.0.join("jwt.pem").exists());
}

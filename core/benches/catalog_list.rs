//! Benchmark of `GET /api/products` (filters, sorting, paging and facets) over a seeded catalog,
//! with a cold and a warm Redis cache.
//!
//! ```text
//! cargo bench -p edgeshop-core --bench catalog_list
//! ```
//!
//! The real application runs on a real socket and is driven over HTTP by `BENCH_CONCURRENCY`
//! keep-alive clients, so the figures include routing, middleware, Redis, PostgreSQL,
//! serialisation and the HTTP stack, like a shopper's request. Client and server share the
//! machine (2 cores here), so each figure is printed beside baselines measured in the same run:
//! `/healthz` through the same stack (the floor) and a single client (latency without queueing).
//!
//! Goals (p99 < 50 ms cold, < 5 ms warm) are informational. The process fails only when a
//! response is wrong: not 200, or not a listing with `products` and `facets`.
//!
//! Environment:
//! - `BENCH_DATABASE_URL` (postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_bench; created if missing)
//! - `BENCH_PRODUCTS` (100000): the catalog is reused when it has exactly this many products
//! - `BENCH_CONCURRENCY` (16), `BENCH_WARM_ROUNDS` (20)
//! - `REDIS_URL` (redis://127.0.0.1:6379): keys live under a per-run prefix, deleted at the end
//! - `DATABASE_MAX_CONNECTIONS`, `EDGESHOP_REQUEST_TIMEOUT_MS`: passed to the app's config
//! - `RUST_LOG` (warn, plus the seeder's progress)
//!
//! Results are also appended as one JSON line to `bench-results/catalog_list.jsonl`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use edgeshop_core::auth::TokenKeys;
use edgeshop_core::catalog::listing_index_store::SharedListingIndex;
use edgeshop_core::config::Config;
use edgeshop_core::seed::{SeedOptions, seed_catalog};
use edgeshop_core::startup;
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use redis::aio::MultiplexedConnection;
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinHandle;

// The core binary's allocator, so the core measured in this process is the one deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_DATABASE_URL: &str = "postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_bench";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// The CLI's default seed: the benchmark catalog is the demo catalog, only bigger.
const RNG_SEED: u64 = 2024;
/// Enough `/healthz` requests for a stable p99 of the floor.
const HEALTH_REQUESTS: usize = 10_000;
/// Rounds over the listing URLs for the single-client warm baseline (a lone shopper's hits).
const SINGLE_WARM_ROUNDS: usize = 3;
const SORTS: [&str; 4] = ["newest", "price_asc", "price_desc", "rating"];
const SIZES: [u64; 2] = [20, 50];
const PAGES: std::ops::Range<u64> = 0..5;
const COLD_P99_GOAL_MS: f64 = 50.0;
const WARM_P99_GOAL_MS: f64 = 5.0;
/// Failure messages kept per phase (the count is always complete).
const FAILURE_SAMPLES: usize = 5;
/// Query shapes shown in the "slowest cold shapes" breakdown.
const SLOWEST_SHAPES: usize = 8;
/// Rebuilds of the listing index timed on their own.
const INDEX_REBUILDS: usize = 5;

#[path = "support/mod.rs"]
mod support;

use support::{env_or, round2};

fn main() -> ExitCode {
    init_logging();
    match support::block_on(run()) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!("catalog_list: {failed} request(s) failed; the figures above are not valid");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("catalog_list: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings only (a per-request log line would dominate the figures), plus the seeder's
/// progress, which is worth seeing during a minute-long seed. sqlx's slow-statement warnings
/// are off: cold phases trigger hundreds, and the per-shape table below says the same in
/// less space. `RUST_LOG` overrides.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,sqlx=error,edgeshop_core::seed=info")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

struct Settings {
    database_url: String,
    redis_url: String,
    products: u32,
    concurrency: usize,
    warm_rounds: usize,
}

impl Settings {
    fn from_env() -> Result<Self> {
        let settings = Settings {
            database_url: env_or("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL.to_owned())?,
            redis_url: env_or("REDIS_URL", DEFAULT_REDIS_URL.to_owned())?,
            products: env_or("BENCH_PRODUCTS", 100_000)?,
            concurrency: env_or("BENCH_CONCURRENCY", 16)?,
            warm_rounds: env_or("BENCH_WARM_ROUNDS", 20)?,
        };
        if settings.products == 0 || settings.concurrency == 0 || settings.warm_rounds == 0 {
            bail!("BENCH_PRODUCTS, BENCH_CONCURRENCY and BENCH_WARM_ROUNDS must be at least 1");
        }
        Ok(settings)
    }
}

/// Runs everything; returns how many requests failed.
async fn run() -> Result<u64> {
    let settings = Settings::from_env()?;
    // A prefix of our own: the run neither reads another run's cache nor leaves keys behind.
    let prefix = format!("bench:{}:", uuid::Uuid::new_v4());
    let config = app_config(&settings, &prefix)?;
    print_settings(&settings, &config);

    ensure_database(&settings.database_url).await?;
    let db = startup::connect_db(&config).await?;
    startup::MIGRATOR
        .run(&db)
        .await
        .context("running migrations")?;
    ensure_seeded(&db, settings.products).await?;

    let mut redis = redis::Client::open(settings.redis_url.as_str())
        .context("REDIS_URL is not a Redis URL")?
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to Redis at {}", settings.redis_url))?;
    let state = startup::state_with(config, db.clone(), Some(TokenKeys::generate()))
        .context("building the application state")?;
    let index = state.listing_index.clone();
    let (address, server) = start_server(state).await?;

    let measured = measure(&settings, &db, address, &mut redis, &prefix, &index).await;
    server.abort();
    // Clean up even when measuring failed; a cleanup problem is reported, not fatal.
    match delete_run_keys(&mut redis, &prefix).await {
        Ok(n) => println!("redis: deleted {n} keys under {prefix}"),
        Err(err) => eprintln!("redis: could not delete the keys under {prefix}: {err:#}"),
    }
    let report = measured?;
    report.print();
    // Figures from a run with wrong answers are not kept in the history.
    if report.failed() > 0 {
        eprintln!("not appended to bench-results/catalog_list.jsonl: the run had failures");
    } else if let Err(err) = report.append_jsonl() {
        eprintln!("could not append to bench-results/catalog_list.jsonl: {err:#}");
    }
    Ok(report.failed())
}

/// The app's configuration: development mode against the bench database and a private Redis
/// prefix.
fn app_config(settings: &Settings, prefix: &str) -> Result<Config> {
    support::app_config(&[
        ("DATABASE_URL", settings.database_url.as_str()),
        ("REDIS_URL", settings.redis_url.as_str()),
        ("REDIS_KEY_PREFIX", prefix),
    ])
}

fn print_settings(settings: &Settings, config: &Config) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "catalog_list: {} products, concurrency {}, {} warm rounds, DB pool {}, {} cores (client and server share them)",
        settings.products,
        settings.concurrency,
        settings.warm_rounds,
        config.database_max_connections,
        cores
    );
}

// ---------------------------------------------------------------------------------------------
// Database: create, migrate, seed.
// ---------------------------------------------------------------------------------------------

/// Creates the bench database when missing, through the `postgres` database of the same server,
/// so a fresh machine needs no manual step.
async fn ensure_database(url: &str) -> Result<()> {
    let options =
        PgConnectOptions::from_str(url).context("BENCH_DATABASE_URL is not a PostgreSQL URL")?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(()); // No database named: the server's default for the user, which exists.
    };
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .context("connecting to the `postgres` database to check for the bench database")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .context("looking up the bench database")?;
    if !exists {
        let created = sqlx::query(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))
        .execute(&mut admin)
        .await;
        match created {
            Ok(_) => println!("database: created {name}"),
            // 42P04 duplicate_database: another run created it meanwhile, which is just as good.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e).with_context(|| format!("creating database {name}")),
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Seeds `products` products unless the database already holds exactly that many; a catalog
/// of another size is rebuilt (the seeder would otherwise skip any non-empty catalog).
async fn ensure_seeded(db: &PgPool, products: u32) -> Result<()> {
    let started = Instant::now();
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(db)
        .await
        .context("counting products")?;
    if existing == i64::from(products) {
        println!(
            "seed: reusing the seeded catalog ({existing} products, checked in {:.2} s)",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let reset = existing > 0;
    if reset {
        println!("seed: the catalog has {existing} products, not {products}; reseeding");
    }
    let options = SeedOptions {
        products,
        reset,
        rng_seed: RNG_SEED,
    };
    let report = seed_catalog(db, &options)
        .await
        .context("seeding the catalog")?;
    println!(
        "seed: {} products, {} variants, {} images, {} stock rows, {} reviews in {:.1} s",
        report.products,
        report.variants,
        report.images,
        report.inventory_rows,
        report.reviews,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The server and the Redis keys of this run.
// ---------------------------------------------------------------------------------------------

/// The real application on an ephemeral port, as `startup::serve` runs it, background jobs
/// included (the listing index refresher plays a part in reads after a catalog write).
async fn start_server(
    state: edgeshop_core::state::AppState,
) -> Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let address = listener.local_addr().context("reading the bound address")?;
    startup::spawn_background_jobs(&state);
    let app = startup::app(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((address, server))
}

/// Invalidates every cached listing of this run, as a catalog write would, then waits until
/// the server's background refresher has rebuilt the listing index for it (within about half
/// a second in production). Cold phases then measure cache misses, not index rebuilds, which
/// are measured on their own.
async fn bump_generation(
    redis: &mut MultiplexedConnection,
    key: &str,
    index: &SharedListingIndex,
) -> Result<i64> {
    let generation: i64 = redis::cmd("INCR")
        .arg(key)
        .query_async(redis)
        .await
        .with_context(|| format!("INCR {key}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while index.current().is_none_or(|i| i.generation < generation) {
        if Instant::now() > deadline {
            bail!("the listing index was not rebuilt within 30 s of a catalog write");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(generation)
}

/// How long rebuilding the listing index takes (what the first listing after a catalog write
/// may wait for if it beats the refresher): a fresh load from PostgreSQL, several times.
async fn index_rebuilds(db: &PgPool, runs: usize) -> Result<Vec<f64>> {
    let mut millis = Vec::with_capacity(runs);
    for generation in 0..runs {
        let started = Instant::now();
        SharedListingIndex::default()
            .fresh(db, generation as i64)
            .await
            .map_err(|e| anyhow::anyhow!("rebuilding the listing index: {e}"))?;
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    Ok(millis)
}

async fn delete_run_keys(redis: &mut MultiplexedConnection, prefix: &str) -> Result<u64> {
    let pattern = format!("{prefix}*");
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(redis)
            .await
            .context("SCAN")?;
        if !keys.is_empty() {
            let n: u64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(redis)
                .await
                .context("DEL")?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

// ---------------------------------------------------------------------------------------------
// The listing queries: realistic filters read from the seeded data.
// ---------------------------------------------------------------------------------------------

/// A filter combination a shopper might use, without sort and paging.
struct Filter {
    label: String,
    params: Vec<(&'static str, String)>,
}

/// One URL to request, and the query shape (filter + sort) it belongs to, for the breakdown.
#[derive(Clone)]
struct Target {
    url: Url,
    shape: usize,
}

struct CategoryStats {
    id: i64,
    path: String,
    top_level: bool,
    leaf: bool,
    /// Listed products in the category and everything below it.
    products: i64,
}

/// Every category with its subtree's product count (summed here from per-category counts:
/// one scan instead of one per category).
async fn category_stats(db: &PgPool) -> Result<Vec<CategoryStats>> {
    let rows: Vec<(i64, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT c.category_id, c.path, c.parent_category_id, count(p.product_id)
           FROM categories c
           LEFT JOIN products p ON p.category_id = c.category_id AND p.status <> 'INACTIVE'
          GROUP BY c.category_id",
    )
    .fetch_all(db)
    .await
    .context("reading categories")?;
    let mut stats: Vec<CategoryStats> = rows
        .iter()
        .map(|(id, path, parent, _)| CategoryStats {
            id: *id,
            path: path.clone(),
            top_level: parent.is_none(),
            leaf: !rows.iter().any(|(_, _, p, _)| *p == Some(*id)),
            products: rows
                .iter()
                .filter(|(_, other, _, _)| other.starts_with(path.as_str()))
                .map(|(_, _, _, n)| n)
                .sum(),
        })
        .collect();
    stats.sort_by(|a, b| b.products.cmp(&a.products).then(a.id.cmp(&b.id)));
    Ok(stats)
}

/// The largest and the median of `candidates` (already sorted by size, largest first).
fn largest_and_median<'a>(candidates: &[&'a CategoryStats]) -> Vec<&'a CategoryStats> {
    let mut picked: Vec<&CategoryStats> = candidates.first().copied().into_iter().collect();
    if candidates.len() > 2 {
        picked.push(candidates[candidates.len() / 2]);
    }
    picked
}

async fn top_brand_in(db: &PgPool, category: &CategoryStats) -> Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT p.brand FROM products p JOIN categories c ON c.category_id = p.category_id
          WHERE c.path LIKE $1 AND p.status <> 'INACTIVE'
          GROUP BY p.brand ORDER BY count(*) DESC, p.brand LIMIT 1",
    )
    .bind(format!("{}%", category.path))
    .fetch_optional(db)
    .await
    .context("reading a category's top brand")
}

/// The interquartile price range of a category, in whole dollars: a band a shopper would pick.
async fn price_band_in(db: &PgPool, category: &CategoryStats) -> Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT floor(percentile_cont(0.25) WITHIN GROUP (ORDER BY p.effective_price))::bigint,
                ceil(percentile_cont(0.75) WITHIN GROUP (ORDER BY p.effective_price))::bigint
           FROM products p JOIN categories c ON c.category_id = p.category_id
          WHERE c.path LIKE $1 AND p.status <> 'INACTIVE'",
    )
    .bind(format!("{}%", category.path))
    .fetch_one(db)
    .await
    .context("reading a category's price quartiles")
}

async fn top_brands(db: &PgPool, n: i64) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT brand FROM products WHERE status <> 'INACTIVE'
          GROUP BY brand ORDER BY count(*) DESC, brand LIMIT $1",
    )
    .bind(n)
    .fetch_all(db)
    .await
    .context("reading the most common brands")
}

/// No filter; top-level, inner and leaf categories; category + brand; category + price band;
/// brand + minimum rating. Large and median-sized categories, since facet cost grows with the
/// number of matching products.
async fn listing_filters(db: &PgPool) -> Result<Vec<Filter>> {
    let stats = category_stats(db).await?;
    let tops: Vec<&CategoryStats> = stats.iter().filter(|c| c.top_level).collect();
    let inner: Vec<&CategoryStats> = stats.iter().filter(|c| !c.top_level && !c.leaf).collect();
    let leaves: Vec<&CategoryStats> = stats.iter().filter(|c| c.leaf && c.products > 0).collect();
    let (Some(&biggest_top), Some(&biggest_leaf)) = (tops.first(), leaves.first()) else {
        bail!("the seeded catalog has no categories with products");
    };

    let category = |c: &CategoryStats| ("category", c.id.to_string());
    let mut filters = vec![Filter {
        label: "no filter".into(),
        params: vec![],
    }];
    for (kind, group) in [("top-level", &tops), ("inner", &inner), ("leaf", &leaves)] {
        for (rank, c) in ["largest", "median"].iter().zip(largest_and_median(group)) {
            filters.push(Filter {
                label: format!("{kind} category ({rank}, {} products)", c.products),
                params: vec![category(c)],
            });
        }
    }
    for (kind, c) in [("top-level", biggest_top), ("leaf", biggest_leaf)] {
        if let Some(brand) = top_brand_in(db, c).await? {
            filters.push(Filter {
                label: format!("{kind} category + brand"),
                params: vec![category(c), ("brand", brand)],
            });
        }
        let (min, max) = price_band_in(db, c).await?;
        filters.push(Filter {
            label: format!("{kind} category + price {min}-{max}"),
            params: vec![
                category(c),
                ("minPrice", min.to_string()),
                ("maxPrice", max.to_string()),
            ],
        });
    }
    for (brand, rating) in top_brands(db, 2).await?.into_iter().zip([4, 3]) {
        filters.push(Filter {
            label: format!("brand + rating >= {rating}"),
            params: vec![("brand", brand), ("minRating", rating.to_string())],
        });
    }
    Ok(filters)
}

fn listing_url(base: &Url, filter: &Filter, sort: &str, page: u64, size: u64) -> Result<Url> {
    let mut url = base
        .join("/api/products")
        .context("building a listing URL")?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in &filter.params {
            query.append_pair(name, value);
        }
        query
            .append_pair("sort", sort)
            .append_pair("page", &page.to_string())
            .append_pair("size", &size.to_string());
    }
    Ok(url)
}

/// How many products match a filter, asked of the app itself (its page 0), so that only pages
/// that exist are requested: a page past the end is a 404, not a listing.
async fn matching_total(client: &Client, base: &Url, filter: &Filter) -> Result<u64> {
    let url = listing_url(base, filter, SORTS[0], 0, SIZES[0])?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .with_context(|| format!("probing {url}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("probing {url}: status {status}, body is not JSON"))?;
    body.pointer("/pagination/total")
        .and_then(Value::as_u64)
        .with_context(|| format!("probing {url}: status {status}, no pagination.total in {body}"))
}

/// Every (filter, sort, size, page) combination whose page exists: a few hundred distinct URLs.
/// Also returns the shape labels (filter + sort) the targets refer to.
async fn listing_targets(
    client: &Client,
    base: &Url,
    filters: &[Filter],
) -> Result<(Vec<Target>, Vec<String>)> {
    let mut targets = Vec::new();
    let mut shapes = Vec::new();
    for filter in filters {
        let total = matching_total(client, base, filter).await?;
        for sort in SORTS {
            let shape = shapes.len();
            shapes.push(format!("{} | {sort}", filter.label));
            for size in SIZES {
                for page in PAGES.filter(|page| *page == 0 || page * size < total) {
                    targets.push(Target {
                        url: listing_url(base, filter, sort, page, size)?,
                        shape,
                    });
                }
            }
        }
    }
    Ok((targets, shapes))
}

// ---------------------------------------------------------------------------------------------
// Load generation.
// ---------------------------------------------------------------------------------------------

/// What a correct response looks like.
#[derive(Clone, Copy)]
enum Check {
    Health,
    Listing,
}

impl Check {
    fn verify(self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        let snippet = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        if status != StatusCode::OK {
            return Err(format!("status {status}: {}", snippet()));
        }
        let json: Value =
            serde_json::from_slice(body).map_err(|e| format!("not JSON ({e}): {}", snippet()))?;
        let ok = match self {
            Check::Health => json.get("status").and_then(Value::as_str) == Some("ok"),
            Check::Listing => {
                json.get("products").is_some_and(Value::is_array)
                    && json.get("facets").is_some_and(Value::is_object)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!("unexpected body: {}", snippet()))
        }
    }
}

struct Sample {
    shape: usize,
    micros: u64,
}

#[derive(Default)]
struct WorkerOutcome {
    samples: Vec<Sample>,
    failed: u64,
    failure_samples: Vec<String>,
}

/// Takes the next URL until none are left. The clock stops when the whole body has arrived;
/// checking it is the client's business and is not timed.
async fn worker(
    client: Client,
    targets: Arc<Vec<Target>>,
    next: Arc<AtomicUsize>,
    check: Check,
) -> WorkerOutcome {
    let mut outcome = WorkerOutcome::default();
    while let Some(target) = targets.get(next.fetch_add(1, Ordering::Relaxed)) {
        let started = Instant::now();
        let fetched = fetch(&client, &target.url).await;
        outcome.samples.push(Sample {
            shape: target.shape,
            micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        });
        if let Err(why) = fetched.and_then(|(status, body)| check.verify(status, &body)) {
            outcome.failed += 1;
            if outcome.failure_samples.len() < FAILURE_SAMPLES {
                outcome
                    .failure_samples
                    .push(format!("{}: {why}", target.url));
            }
        }
    }
    outcome
}

async fn fetch(client: &Client, url: &Url) -> Result<(StatusCode, bytes::Bytes), String> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?;
    Ok((status, body))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/healthz`: the HTTP stack's floor.
    Health,
    /// The listing URLs for the first time since start: PostgreSQL's buffers, the pool's
    /// connections and their prepared statements are still cold. Not judged against goals.
    FirstTouch,
    /// Every URL once, each a cache miss.
    Cold,
    /// The same URLs again, each a cache hit.
    Warm,
}

impl Kind {
    fn label(self, concurrency: usize) -> String {
        let name = match self {
            Kind::Health => "healthz (baseline)",
            Kind::FirstTouch => "listing first touch",
            Kind::Cold => "listing cold",
            Kind::Warm => "listing warm",
        };
        format!("{name} (C={concurrency})")
    }

    fn check(self) -> Check {
        match self {
            Kind::Health => Check::Health,
            _ => Check::Listing,
        }
    }
}

struct Phase {
    label: String,
    kind: Kind,
    concurrency: usize,
    wall: Duration,
    latency: Histogram<u64>,
    samples: Vec<Sample>,
    failed: u64,
    failure_samples: Vec<String>,
    /// Catalog cache hits and misses the app counted during the phase.
    cache: Option<(u64, u64)>,
}

impl Phase {
    fn requests(&self) -> u64 {
        self.latency.len()
    }

    fn rps(&self) -> f64 {
        self.requests() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant histogram bounds are valid")
}

/// Runs phases against the app: the shared keep-alive client, and `/metrics` to read the
/// app's cache counters around each phase.
struct Driver {
    client: Client,
    metrics_url: Url,
}

impl Driver {
    /// Sends every target once from `concurrency` workers and measures the whole phase.
    async fn run(&self, kind: Kind, concurrency: usize, targets: Vec<Target>) -> Result<Phase> {
        let label = kind.label(concurrency);
        let before = self.cache_counters().await;
        let targets = Arc::new(targets);
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, targets, next) = (self.client.clone(), targets.clone(), next.clone());
                tokio::spawn(worker(client, targets, next, kind.check()))
            })
            .collect();
        let mut phase = Phase {
            label,
            kind,
            concurrency,
            wall: Duration::ZERO,
            latency: new_histogram(),
            samples: Vec::with_capacity(targets.len()),
            failed: 0,
            failure_samples: Vec::new(),
            cache: None,
        };
        for handle in workers {
            let outcome = handle.await.context("a benchmark worker panicked")?;
            phase.failed += outcome.failed;
            phase.failure_samples.extend(outcome.failure_samples);
            phase.samples.extend(outcome.samples);
        }
        phase.wall = started.elapsed();
        for sample in &phase.samples {
            phase.latency.saturating_record(sample.micros.max(1));
        }
        phase.cache = match (before, self.cache_counters().await) {
            (Some((h0, m0)), Some((h1, m1))) => Some((h1 - h0, m1 - m0)),
            _ => None,
        };
        phase.failure_samples.truncate(FAILURE_SAMPLES);
        println!(
            "  {}: {} requests in {:.2} s",
            phase.label,
            phase.requests(),
            phase.wall.as_secs_f64()
        );
        Ok(phase)
    }

    /// (hits, misses) of the catalog cache so far, from `/metrics`; None if unreadable.
    async fn cache_counters(&self) -> Option<(u64, u64)> {
        let text = self
            .client
            .get(self.metrics_url.clone())
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let sum = |outcome: &str| -> u64 {
            let label = format!("outcome=\"{outcome}\"");
            text.lines()
                .filter(|line| line.starts_with("catalog_cache_total{") && line.contains(&label))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>() as u64
        };
        Some((sum("hit"), sum("miss")))
    }
}

fn http_client(concurrency: usize) -> Result<Client> {
    Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

/// The phases, in order: the HTTP floor, a first touch, cold, warm, then the single-client
/// baselines (the latency a lone shopper sees, without queueing behind 15 others).
async fn measure(
    settings: &Settings,
    db: &PgPool,
    address: SocketAddr,
    redis: &mut MultiplexedConnection,
    prefix: &str,
    index: &SharedListingIndex,
) -> Result<Report> {
    let base = Url::parse(&format!("http://{address}")).context("building the base URL")?;
    let client = http_client(settings.concurrency)?;
    let driver = Driver {
        client: client.clone(),
        metrics_url: base.join("/metrics").context("building the metrics URL")?,
    };
    let generation_key = format!("{prefix}{{catalog}}:generation");
    let c = settings.concurrency;
    let mut rng = rand::rngs::StdRng::seed_from_u64(RNG_SEED);

    let filters = listing_filters(db).await?;
    let (mut listings, shapes) = listing_targets(&client, &base, &filters).await?;
    // Shuffled (reproducibly) so concurrent workers mix shapes as real traffic does.
    listings.shuffle(&mut rng);
    println!(
        "{} distinct listing URLs from {} filters x {} sorts (pages 0-4 that exist, sizes 20 and 50):",
        listings.len(),
        filters.len(),
        SORTS.len()
    );
    for filter in &filters {
        println!("  {}", filter.label);
    }
    let health_url = base.join("/healthz").context("building the healthz URL")?;
    let health = |n: usize| {
        let target = Target {
            url: health_url.clone(),
            shape: 0,
        };
        vec![target; n]
    };
    // The cache filled by the cold phase before them holds every URL: each request hits.
    let mut repeated = |rounds: usize| {
        let mut targets: Vec<Target> = (0..rounds).flat_map(|_| listings.iter().cloned()).collect();
        targets.shuffle(&mut rng);
        targets
    };
    let warm = repeated(settings.warm_rounds);
    let single_warm = repeated(SINGLE_WARM_ROUNDS);

    println!("measuring:");
    let mut phases = vec![
        driver.run(Kind::Health, c, health(HEALTH_REQUESTS)).await?,
        driver
            .run(Kind::Health, 1, health(HEALTH_REQUESTS / 5))
            .await?,
    ];
    // Each bump makes every listing of this run a miss; the URLs are distinct, so each request
    // of a cold phase misses exactly once (the cache counters in the table confirm it).
    bump_generation(redis, &generation_key, index).await?;
    phases.push(driver.run(Kind::FirstTouch, c, listings.clone()).await?);
    bump_generation(redis, &generation_key, index).await?;
    phases.push(driver.run(Kind::Cold, c, listings.clone()).await?);
    phases.push(driver.run(Kind::Warm, c, warm).await?);
    bump_generation(redis, &generation_key, index).await?;
    phases.push(driver.run(Kind::Cold, 1, listings.clone()).await?);
    phases.push(driver.run(Kind::Warm, 1, single_warm).await?);
    let index_rebuild_ms = index_rebuilds(db, INDEX_REBUILDS).await?;

    Ok(Report {
        products: settings.products,
        concurrency: c,
        distinct_urls: listings.len(),
        phases,
        shapes,
        index_rebuild_ms,
    })
}

// ---------------------------------------------------------------------------------------------
// Reporting.
// ---------------------------------------------------------------------------------------------

struct Report {
    products: u32,
    concurrency: usize,
    distinct_urls: usize,
    phases: Vec<Phase>,
    shapes: Vec<String>,
    /// Sorted rebuild times of the listing index, in milliseconds.
    index_rebuild_ms: Vec<f64>,
}

struct ShapeStats<'a> {
    label: &'a str,
    requests: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Report {
    fn failed(&self) -> u64 {
        self.phases.iter().map(|p| p.failed).sum()
    }

    fn phase(&self, kind: Kind, concurrency: usize) -> Option<&Phase> {
        self.phases
            .iter()
            .find(|p| p.kind == kind && p.concurrency == concurrency)
    }

    fn print(&self) {
        println!();
        println!(
            "{:<34} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8}  {:>15}",
            "phase", "requests", "rps", "p50 ms", "p90 ms", "p99 ms", "max ms", "cache hit/miss"
        );
        for p in &self.phases {
            let cache = p
                .cache
                .map_or("-".to_owned(), |(hit, miss)| format!("{hit}/{miss}"));
            println!(
                "{:<34} {:>8} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {:>15}",
                p.label,
                p.requests(),
                p.rps(),
                p.ms(0.50),
                p.ms(0.90),
                p.ms(0.99),
                p.max_ms(),
                cache
            );
        }
        println!(
            "first touch: the listing URLs' first pass since start (PostgreSQL buffers, pool \
             connections, prepared statements cold); not judged against the goals."
        );
        if let (Some(min), Some(max)) =
            (self.index_rebuild_ms.first(), self.index_rebuild_ms.last())
        {
            println!(
                "listing index rebuild after a catalog write ({} products, {} runs): median {:.1} ms, min {:.1}, max {:.1}",
                self.products,
                self.index_rebuild_ms.len(),
                self.index_rebuild_ms[self.index_rebuild_ms.len() / 2],
                min,
                max
            );
        }
        println!();
        self.print_goals();
        self.print_slowest_shapes();
        self.print_failures();
    }

    fn print_goals(&self) {
        println!("goal: p99 < {COLD_P99_GOAL_MS} ms cold, < {WARM_P99_GOAL_MS} ms warm");
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let c = self.concurrency;
        for (kind, concurrency, goal) in [
            (Kind::Cold, c, COLD_P99_GOAL_MS),
            (Kind::Cold, 1, COLD_P99_GOAL_MS),
            (Kind::Warm, c, WARM_P99_GOAL_MS),
            (Kind::Warm, 1, WARM_P99_GOAL_MS),
        ] {
            if let Some(p) = self.phase(kind, concurrency) {
                let p99 = p.ms(0.99);
                println!(
                    "  {:<32} p99 {:>8.2} ms  goal < {goal} ms: {}",
                    p.label,
                    p99,
                    verdict(p99 < goal)
                );
            }
        }
        for floor in self.phases.iter().filter(|p| p.kind == Kind::Health) {
            println!(
                "  (HTTP floor, healthz at C={}: p50 {:.2} ms, p99 {:.2} ms)",
                floor.concurrency,
                floor.ms(0.50),
                floor.ms(0.99)
            );
        }
    }

    /// Per filter + sort latency in the single-client cold phase (no queueing, so the time is
    /// the query's own): where to look first when cold is slow.
    fn shape_stats(&self) -> Vec<ShapeStats<'_>> {
        let Some(phase) = self.phase(Kind::Cold, 1) else {
            return Vec::new();
        };
        let mut by_shape: HashMap<usize, Histogram<u64>> = HashMap::new();
        for s in &phase.samples {
            by_shape
                .entry(s.shape)
                .or_insert_with(new_histogram)
                .saturating_record(s.micros.max(1));
        }
        let mut stats: Vec<ShapeStats> = by_shape
            .iter()
            .map(|(shape, h)| ShapeStats {
                label: &self.shapes[*shape],
                requests: h.len(),
                p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
                p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
                max_ms: h.max() as f64 / 1000.0,
            })
            .collect();
        stats.sort_by(|a, b| b.max_ms.total_cmp(&a.max_ms));
        stats
    }

    fn print_slowest_shapes(&self) {
        let stats = self.shape_stats();
        if stats.is_empty() {
            return;
        }
        println!();
        println!("slowest query shapes, cold (C=1):");
        println!(
            "  {:<58} {:>5} {:>8} {:>8} {:>8}",
            "filter | sort", "reqs", "p50 ms", "p99 ms", "max ms"
        );
        for s in stats.iter().take(SLOWEST_SHAPES) {
            println!(
                "  {:<58} {:>5} {:>8.2} {:>8.2} {:>8.2}",
                s.label, s.requests, s.p50_ms, s.p99_ms, s.max_ms
            );
        }
    }

    fn print_failures(&self) {
        for p in self.phases.iter().filter(|p| p.failed > 0) {
            eprintln!("{}: {} failed request(s), e.g.:", p.label, p.failed);
            for message in &p.failure_samples {
                eprintln!("  {message}");
            }
        }
    }

    fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|p| {
                json!({
                    "phase": p.label,
                    "concurrency": p.concurrency,
                    "requests": p.requests(),
                    "failed": p.failed,
                    "rps": round2(p.rps()),
                    "p50_ms": p.ms(0.50),
                    "p90_ms": p.ms(0.90),
                    "p99_ms": p.ms(0.99),
                    "max_ms": p.max_ms(),
                    "cache_hits": p.cache.map(|c| c.0),
                    "cache_misses": p.cache.map(|c| c.1),
                })
            })
            .collect();
        let slowest: Vec<Value> = self
            .shape_stats()
            .iter()
            .take(SLOWEST_SHAPES)
            .map(|s| json!({"shape": s.label, "p50_ms": s.p50_ms, "p99_ms": s.p99_ms, "max_ms": s.max_ms}))
            .collect();
        let p99 = |kind, concurrency| self.phase(kind, concurrency).map(|p| p.ms(0.99));
        let c = self.concurrency;
        json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "bench": "catalog_list",
            "products": self.products,
            "concurrency": self.concurrency,
            "distinct_urls": self.distinct_urls,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "phases": phases,
            "index_rebuild_ms": self.index_rebuild_ms.iter().map(|v| round2(*v)).collect::<Vec<_>>(),
            "goals": {
                "cold_p99_ms": COLD_P99_GOAL_MS,
                "warm_p99_ms": WARM_P99_GOAL_MS,
                "cold_met": p99(Kind::Cold, c).map(|v| v < COLD_P99_GOAL_MS),
                "cold_single_met": p99(Kind::Cold, 1).map(|v| v < COLD_P99_GOAL_MS),
                "warm_met": p99(Kind::Warm, c).map(|v| v < WARM_P99_GOAL_MS),
                "warm_single_met": p99(Kind::Warm, 1).map(|v| v < WARM_P99_GOAL_MS),
            },
            "slowest_cold_shapes": slowest,
        })
    }

    fn append_jsonl(&self) -> Result<()> {
        support::append_jsonl("catalog_list", self.to_json())
    }
}

//! Benchmark of reserving one hot SKU under many concurrent buyers, four ways side by side in
//! one run:
//!
//! ```text
//! cargo bench -p edgeshop-core --bench reservations
//! ```
//!
//! - (a) naive PostgreSQL: `SELECT ... FOR UPDATE`, `UPDATE`, the reservation row, `COMMIT`,
//!   one transaction per reservation (the baseline);
//! - (b) the bare Redis reserve script, driven directly (the ceiling: nothing durable);
//! - (c) edgeshop's reservation path, the code checkout calls: candidate rows, the script, and
//!   the durable PostgreSQL record, group-committed;
//! - (d) whole orders over HTTP, `initiate` then `pay` through the sandbox gateway, sent at a
//!   fixed rate (open loop: latency counts from when each order was due).
//!
//! Then (c) again with scarce stock until it sells out, to count oversold and undersold units,
//! and (d) sells slightly fewer units than it sends orders for, for the same count.
//!
//! Goals on a 2-core machine: (c) >= 20x (a) and >= 0.5x (b); (d) p99 < 250 ms at 500 orders/s
//! with no errors; oversold 0. Goals are informational. The process fails on wrong answers:
//! books that do not balance, units oversold or undersold, a capture without an order. An
//! overloaded shop's timeouts are errors that miss the goal, not wrong answers.
//!
//! Environment:
//! - `BENCH_DATABASE_URL` (postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_bench_reservations):
//!   dropped and recreated at every run
//! - `REDIS_URL` (redis://127.0.0.1:6379): keys live under a per-run prefix, deleted at the end
//! - `BENCH_BUYERS` (256) concurrent buyers in (a)-(c), `BENCH_SECONDS` (5) per phase
//! - `BENCH_ORDER_RATE` (500) orders/s and `BENCH_ORDER_SECONDS` (10) for (d), `BENCH_ORDER_BUYERS` (100)
//! - `DATABASE_MAX_CONNECTIONS` (20): one pool size for every phase
//! - `BENCH_PHASES` (abcd): which phases to run
//!
//! Results are also appended as one JSON line to `bench-results/reservations.jsonl`.

mod fixture;
mod load;
mod orders;
mod paths;
mod report;
#[path = "../support/mod.rs"]
mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use edgeshop_core::inventory::counters::{self, StockKeys};
use edgeshop_core::inventory::reservations::Reservations;
use edgeshop_core::kv::Redis;

use fixture::HotSku;
use load::{Until, closed_loop, open_loop};
use report::{Check, PhaseFigures, Report};
use support::env_or;

// The core binary's allocator, so the core measured in this process is the one deployed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DEFAULT_DATABASE_URL: &str =
    "postgres://edgeshop:edgeshop@127.0.0.1:5432/edgeshop_bench_reservations";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Stock for the throughput phases: more than any of them can sell.
const PLENTY: i32 = 10_000_000;
/// Stock for the sell-out round.
const SCARCE: i32 = 2_000;
/// How long the sell-out round may take before it counts as stuck.
const SELL_OUT_LIMIT: Duration = Duration::from_secs(120);

struct Settings {
    database_url: String,
    redis_url: String,
    buyers: usize,
    phase: Duration,
    order_rate: u32,
    order_seconds: u32,
    order_buyers: usize,
    pool: u32,
    /// Which of a, b, c, d to run.
    phases: String,
}

impl Settings {
    fn from_env() -> Result<Self> {
        Ok(Settings {
            database_url: env_or("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL.to_owned())?,
            redis_url: env_or("REDIS_URL", DEFAULT_REDIS_URL.to_owned())?,
            buyers: env_or("BENCH_BUYERS", 256)?,
            phase: Duration::from_secs(env_or("BENCH_SECONDS", 5)?),
            order_rate: env_or("BENCH_ORDER_RATE", 500)?,
            order_seconds: env_or("BENCH_ORDER_SECONDS", 10)?,
            order_buyers: env_or("BENCH_ORDER_BUYERS", 100)?,
            pool: env_or("DATABASE_MAX_CONNECTIONS", 20)?,
            phases: env_or("BENCH_PHASES", "abcd".to_owned())?.to_lowercase(),
        })
    }
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
    match support::block_on(run()) {
        Ok(report) if report.passed() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!(
                "reservations: wrong answers (see the checks above); the figures are not valid"
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("reservations: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Report> {
    let settings = Settings::from_env()?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "reservations: {} buyers, {} s per phase, orders at {}/s for {} s, DB pool {}, {cores} cores (everything shares them)",
        settings.buyers,
        settings.phase.as_secs(),
        settings.order_rate,
        settings.order_seconds,
        settings.pool
    );
    let db = Arc::new(fixture::fresh_database(&settings.database_url, settings.pool).await?);
    let sku = fixture::hot_sku(&db).await?;
    let prefix = format!("bench:{}:", uuid::Uuid::new_v4().simple());
    let redis = Redis::new(&settings.redis_url, &prefix).context("REDIS_URL is not a Redis URL")?;
    redis
        .ping()
        .await
        .with_context(|| format!("Redis at {}", settings.redis_url))?;
    let keys = Arc::new(StockKeys::new(redis.clone()));
    let bench = Bench {
        settings,
        db,
        sku,
        redis,
        keys,
        prefix,
    };

    let measured = bench.measure().await;
    let (redis, prefix) = (&bench.redis, &bench.prefix);
    match delete_keys(redis, &format!("{prefix}*")).await {
        Ok(n) => println!("redis: deleted {n} keys under {prefix}"),
        Err(err) => eprintln!("redis: could not delete the keys under {prefix}: {err:#}"),
    }
    let report = measured?;
    report.print();
    if report.passed() {
        if let Err(err) = report.append_jsonl() {
            eprintln!("could not append to bench-results/reservations.jsonl: {err:#}");
        }
    } else {
        eprintln!("not appended to bench-results/reservations.jsonl: the run had wrong answers");
    }
    Ok(report)
}

/// What every phase works on: one hot SKU in a fresh database, and this run's Redis keys.
struct Bench {
    settings: Settings,
    db: Arc<sqlx::PgPool>,
    sku: HotSku,
    redis: Redis,
    keys: Arc<StockKeys>,
    /// This run's Redis key prefix.
    prefix: String,
}

impl Bench {
    async fn measure(&self) -> Result<Report> {
        let mut report = Report::new(self.settings.buyers, self.settings.pool);
        let wanted = |phase: char| self.settings.phases.contains(phase);
        if wanted('a') {
            self.naive_phase(&mut report).await?;
        }
        if wanted('b') {
            self.script_phase(&mut report).await?;
        }
        if wanted('c') {
            self.edgeshop_phases(&mut report).await?;
        }
        if wanted('d') {
            self.orders_phase(&mut report).await?;
        }
        Ok(report)
    }

    /// Sets the hot SKU's stock and drops this run's counters and holds, so the next phase
    /// starts from PostgreSQL.
    async fn restock(&self, units: i32) -> Result<()> {
        fixture::restock(&self.db, &self.sku, units).await?;
        delete_keys(&self.redis, &format!("{}{{stock}}:*", self.prefix))
            .await
            .map(|_| ())
    }

    async fn naive_phase(&self, report: &mut Report) -> Result<()> {
        let (settings, db, sku) = (&self.settings, &self.db, self.sku);
        fixture::restock(db, &sku, PLENTY).await?;
        println!("(a) naive PostgreSQL row lock ...");
        let tally = closed_loop(settings.buyers, Until::Elapsed(settings.phase), {
            let db = db.clone();
            move |_| paths::naive_row_lock(db.clone(), sku)
        })
        .await;
        check_recorded("(a)", db, &sku, tally.took, report).await?;
        report.phase(PhaseFigures::closed(
            "a_naive_postgres",
            "(a) naive PostgreSQL",
            &tally,
        ));
        Ok(())
    }

    /// (b) The bare script, counters loaded by hand.
    async fn script_phase(&self, report: &mut Report) -> Result<()> {
        let (settings, keys, sku) = (&self.settings, &self.keys, self.sku);
        let run_for = Until::Elapsed(settings.phase);
        self.restock(PLENTY).await?;
        counters::load_missing(keys, &[(sku.row, PLENTY)]).await?;
        println!("(b) bare Redis script ...");
        let tally = closed_loop(settings.buyers, run_for, {
            let keys = keys.clone();
            move |_| paths::bare_script(keys.clone(), sku)
        })
        .await;
        let counter = counters::counter(keys, sku.row).await?.unwrap_or(-1);
        report.check(Check::equal(
            "(b) counter = stock - reservations made",
            counter,
            i64::from(PLENTY) - tally.took as i64,
        ));
        report.phase(PhaseFigures::closed(
            "b_redis_script",
            "(b) bare Redis script",
            &tally,
        ));

        Ok(())
    }

    /// (c) edgeshop's path: the counter is loaded from PostgreSQL on first use, as in the shop;
    /// then again with scarce stock, selling out: every unit sold once, none twice.
    async fn edgeshop_phases(&self, report: &mut Report) -> Result<()> {
        let (settings, db, keys, sku) = (&self.settings, &self.db, &self.keys, self.sku);
        let run_for = Until::Elapsed(settings.phase);
        self.restock(PLENTY).await?;
        let reservations = Arc::new(Reservations::new((**db).clone(), self.redis.clone()));
        println!("(c) edgeshop's reservation path ...");
        let tally = closed_loop(settings.buyers, run_for, {
            let reservations = reservations.clone();
            move |_| paths::edgeshop_path(reservations.clone(), sku)
        })
        .await;
        let reserved = check_recorded("(c)", db, &sku, tally.took, report).await?;
        let counter = counters::counter(keys, sku.row).await?.unwrap_or(-1);
        report.check(Check::equal(
            "(c) counter = PostgreSQL's available",
            counter,
            i64::from(PLENTY) - reserved,
        ));
        report.phase(PhaseFigures::closed(
            "c_edgeshop",
            "(c) edgeshop path",
            &tally,
        ));

        // (c) again, selling out scarce stock: every unit sold once, none twice.
        self.restock(SCARCE).await?;
        println!("(c) sell-out of {SCARCE} units ...");
        let tally = closed_loop(settings.buyers, Until::SoldOut(SELL_OUT_LIMIT), {
            let reservations = reservations.clone();
            move |_| paths::edgeshop_path(reservations.clone(), sku)
        })
        .await;
        let (total, reserved) = fixture::stock(db, &sku).await?;
        report.sold_out(i64::from(SCARCE), tally.took as i64);
        report.check(Check::equal(
            "(c sell-out) reservations made = units",
            tally.took as i64,
            i64::from(SCARCE),
        ));
        report.check(Check::equal(
            "(c sell-out) reserved in PostgreSQL = units",
            reserved,
            total,
        ));
        report.check(Check::equal("(c sell-out) errors", tally.errors as i64, 0));
        Ok(())
    }

    /// (d) Whole orders over HTTP at a fixed rate; a few more orders than units.
    async fn orders_phase(&self, report: &mut Report) -> Result<()> {
        let (settings, db, sku) = (&self.settings, &self.db, self.sku);
        let planned = u64::from(settings.order_rate) * u64::from(settings.order_seconds);
        let units = planned - planned / 20;
        let units_i32 =
            i32::try_from(units).context("BENCH_ORDER_RATE x BENCH_ORDER_SECONDS is too large")?;
        self.restock(units_i32).await?;
        let shop = orders::open_shop(
            db,
            &settings.database_url,
            &settings.redis_url,
            &self.prefix,
        )
        .await?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .build()
            .context("building the HTTP client")?;
        println!("(d) registering {} buyers ...", settings.order_buyers);
        let buyers = orders::buyers(&http, &shop, settings.order_buyers).await;
        if buyers.is_empty() {
            bail!("BENCH_ORDER_BUYERS must be at least 1");
        }
        println!(
            "(d) {planned} orders at {}/s for {units} units ...",
            settings.order_rate
        );
        let base: Arc<str> = Arc::from(shop.base.as_str());
        let times = Arc::new(orders::StepTimes::new());
        let tally = open_loop(settings.order_rate, planned, {
            let (http, times) = (http.clone(), times.clone());
            move |n| {
                let http = http.clone();
                let base = base.clone();
                let buyers = buyers.clone();
                let times = times.clone();
                async move {
                    let buyer = &buyers[n as usize % buyers.len()];
                    orders::order(http, base, buyer, sku, n, &times).await
                }
            }
        })
        .await;
        print_steps(&times);
        match orders::group_commit_figures(&http, &shop).await {
            Ok(lines) => lines.iter().for_each(|line| println!("(d)   {line}")),
            Err(err) => eprintln!("(d) no group-commit figures: {err:#}"),
        }
        drop(shop);
        let (total, reserved) = fixture::stock(db, &sku).await?;
        let (confirmed, captured) = orders::settled(db).await?;
        let pending = fixture::pending_units(db, &sku).await?;
        let units = units as i64;
        report.orders_sold_out(units, confirmed);
        // Whatever the load, the books balance and nobody pays for nothing.
        report.check(Check::at_most(
            "(d) confirmed orders in PostgreSQL <= units",
            confirmed,
            units,
        ));
        report.check(Check::equal(
            "(d) captured payments = confirmed orders",
            captured,
            confirmed,
        ));
        report.check(Check::equal(
            "(d) units left + units sold = units",
            total + confirmed,
            units,
        ));
        report.check(Check::equal(
            "(d) units reserved = units of pending reservations",
            reserved,
            pending,
        ));
        // An overloaded shop answers some orders with a timeout (and keeps those checkouts until
        // they expire); a shop that kept up sells every unit and says so to each buyer.
        if tally.errors == 0 {
            report.check(Check::equal(
                "(d) confirmed orders in PostgreSQL = units",
                confirmed,
                units,
            ));
            report.check(Check::equal(
                "(d) buyers told \"confirmed\" = confirmed orders",
                tally.took as i64,
                confirmed,
            ));
        }
        if let Some(err) = &tally.first_error {
            eprintln!("(d) first error: {err}");
        }
        print_timeline(&tally);
        report.phase(PhaseFigures::open(
            "d_http_orders",
            "(d) HTTP initiate+pay",
            &tally,
            settings.order_rate,
        ));
        Ok(())
    }
}

/// Where (d)'s time went: each request from when it was sent, then each batch writer.
fn print_steps(times: &std::sync::Mutex<orders::StepTimes>) {
    let Ok(times) = times.lock() else { return };
    for (step, latency) in [("initiate", &times.initiate), ("pay", &times.pay)] {
        println!(
            "(d) {step}: p50 {:.1} ms, p99 {:.1} ms",
            load::millis(latency, 0.5),
            load::millis(latency, 0.99)
        );
    }
}

/// (d)'s latency second by second: a slow start and a shop slow throughout miss the p99 goal
/// for different reasons.
fn print_timeline(tally: &load::Tally) {
    println!("(d) latency by the second the orders were due in: p50 / p99 / max ms");
    for (second, latency) in tally.by_second.iter().enumerate() {
        println!(
            "(d)   second {second:>2}: {:>7.1} {:>7.1} {:>7.1}",
            load::millis(latency, 0.5),
            load::millis(latency, 0.99),
            load::millis(latency, 1.0)
        );
    }
}

/// Checks that PostgreSQL recorded exactly the reservations a phase made; answers the units
/// reserved.
async fn check_recorded(
    phase: &str,
    db: &sqlx::PgPool,
    sku: &HotSku,
    made: u64,
    report: &mut Report,
) -> Result<i64> {
    let (_, reserved) = fixture::stock(db, sku).await?;
    let pending = fixture::pending_units(db, sku).await?;
    report.check(Check::equal(
        format!("{phase} reserved in PostgreSQL = reservations made"),
        reserved,
        made as i64,
    ));
    report.check(Check::equal(
        format!("{phase} pending reservation rows = reservations made"),
        pending,
        made as i64,
    ));
    Ok(reserved)
}

async fn delete_keys(redis: &Redis, pattern: &str) -> Result<u64> {
    let mut conn = redis.connection().await.context("connecting to Redis")?;
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .context("SCAN")?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL")
                .arg(&keys)
                .query_async::<u64>(&mut conn)
                .await
                .context("DEL")?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

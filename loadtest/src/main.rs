//! `edgeshop-loadtest flash-sale`: a whole flash sale through the edge, as buyers live it.
//!
//! It schedules a sale in the core (as an admin), then lets every buyer of a prepared list
//! (`edgeshop-core user load-test-buyers`) join the waiting room at the edge, some before the
//! start and some after, poll their place, and once admitted put the item in the cart, check
//! out and pay; a share walk away after admission and a share pay with a declining card, so
//! their units come back and are sold again. It ends when every unit is sold (or at
//! `--max-seconds`) and writes a report (units sold, oversold, orders per second, time to sell
//! out, p50/p99 per step, fairness) and a PNG chart of admissions, sales and latency.

mod buyer;
mod chart;
mod core_metrics;
mod measure;
mod report;
mod setup;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::buyer::{Buyer, Journey};
use crate::measure::Measurements;

#[derive(Debug, Parser)]
#[command(name = "edgeshop-loadtest", version, about = "Load tools for edgeshop")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a flash sale through the edge and report how it went.
    FlashSale(FlashSaleArgs),
}

#[derive(Debug, Clone, Args)]
pub struct FlashSaleArgs {
    /// The storefront's edge nodes, comma-separated: each buyer talks to one of them (buyer n
    /// to node n mod count), as a buyer reaches the point of presence nearest to them.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8787")]
    pub edge: Vec<String>,
    /// The core, for the admin's set-up and its metrics.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub core: String,
    /// `userId,addressId,token` lines from `edgeshop-core user load-test-buyers`.
    #[arg(long)]
    pub buyers_file: PathBuf,
    /// How many of the file's buyers take part (all by default).
    #[arg(long)]
    pub buyers: Option<usize>,
    #[arg(long, default_value_t = 100)]
    pub units: u32,
    #[arg(long, default_value = "admin@edgeshop.local")]
    pub admin_email: String,
    #[arg(long, default_value = "edgeshop-admin")]
    pub admin_password: String,
    /// Admissions per minute; raise it so the system, not the rate, limits the sale.
    #[arg(long, default_value_t = 1_000)]
    pub admission_rate: u32,
    /// Admitted buyers who have not checked out yet, at most: admission waits for them (the
    /// sale's `maxActiveBuyers`).
    #[arg(long, default_value_t = 1_000)]
    pub max_active_buyers: u32,
    /// Seconds a claimed unit is held before it returns to the pool.
    #[arg(long, default_value_t = 30)]
    pub token_ttl: u32,
    /// Seconds from now to the sale's start; early joiners join in this time.
    #[arg(long, default_value_t = 10)]
    pub start_in: u64,
    /// Share of buyers who join before the start (the rest join over `--late-window`).
    #[arg(long, default_value_t = 0.5)]
    pub early_share: f64,
    /// Seconds after the start over which late joiners arrive.
    #[arg(long, default_value_t = 10)]
    pub late_window: u64,
    /// Share of admitted buyers who walk away without buying.
    #[arg(long, default_value_t = 0.05)]
    pub abandon_share: f64,
    /// Share of paying buyers whose card is declined (they walk away).
    #[arg(long, default_value_t = 0.05)]
    pub decline_share: f64,
    /// Admitted buyers put the item in the cart and check out from it, instead of using the
    /// sale's buy-now (`POST /api/flash-sales/{id}/buy`).
    #[arg(long)]
    pub through_cart: bool,
    /// Requests in flight at once, per step (join, status, cart, checkout, pay).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// The run stops here even if units are left.
    #[arg(long, default_value_t = 180)]
    pub max_seconds: u64,
    /// Where the report (`report.json`, `report.md`) and chart (`chart.png`) go.
    #[arg(long, default_value = "bench-results/flash-sale")]
    pub out: PathBuf,
    /// No progress bar (for logs).
    #[arg(long)]
    pub quiet: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::FlashSale(args) => flash_sale(args).await,
    }
}

async fn flash_sale(args: FlashSaleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.edge.iter().all(|edge| !edge.trim().is_empty()),
        "--edge names an empty address: {:?}",
        args.edge
    );
    let buyers = buyer::read_buyers(&args.buyers_file, args.buyers)?;
    anyhow::ensure!(
        !buyers.is_empty(),
        "no buyers in {}",
        args.buyers_file.display()
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let sale = setup::schedule(&http, &args)
        .await
        .context("setting the sale up")?;
    eprintln!(
        "sale {} of {} units of product {} starts in {} s; {} buyers",
        sale.id,
        args.units,
        sale.product,
        args.start_in,
        buyers.len()
    );
    let core_before = core_metrics::snapshot(&http, &args.core).await?;

    let measurements = Arc::new(Measurements::new(sale.starts_at));
    let journey = Arc::new(Journey::new(
        http.clone(),
        &args,
        &sale,
        measurements.clone(),
    ));
    let progress = progress_bar(&args, buyers.len());
    let started = Instant::now();
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(n, buyer): (usize, Buyer)| {
            let journey = journey.clone();
            tokio::spawn(async move { journey.run(n, buyer).await })
        })
        .collect();
    let deadline = started + Duration::from_secs(args.start_in + args.max_seconds);
    let mut last_line = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if args.quiet && last_line.elapsed() >= Duration::from_secs(10) {
            last_line = Instant::now();
            eprintln!("{}", measurements.summary_line());
        }
        let sold = measurements.sold.load(Ordering::Relaxed);
        progress.set_position(u64::from(sold));
        progress.set_message(format!(
            "admitted {} · declined {} · walked away {}",
            measurements.admitted.load(Ordering::Relaxed),
            measurements.declined.load(Ordering::Relaxed),
            measurements.abandoned.load(Ordering::Relaxed),
        ));
        if sold >= args.units || Instant::now() > deadline || tasks.iter().all(|t| t.is_finished())
        {
            break;
        }
    }
    journey.stop();
    // Buyers finish the request they are in; whoever is still busy after that is cut off.
    let drained = Instant::now() + Duration::from_secs(35);
    while Instant::now() < drained && !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for task in &tasks {
        task.abort();
    }
    progress.finish();

    let core_after = core_metrics::snapshot(&http, &args.core).await?;
    let view = setup::sale_view(&http, &args.core, &sale.id).await?;
    let report = report::build(
        &args,
        &sale,
        &measurements,
        &view,
        &core_after,
        &core_before,
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    let text = report::markdown(&report);
    std::fs::write(args.out.join("report.md"), &text)?;
    match chart::draw(&args.out.join("chart.png"), &measurements) {
        Ok(()) => eprintln!("chart: {}", args.out.join("chart.png").display()),
        Err(err) => eprintln!("no chart: {err:#}"),
    }
    println!("{text}");
    anyhow::ensure!(report.oversold == 0, "OVERSOLD by {}", report.oversold);
    Ok(())
}

fn progress_bar(args: &FlashSaleArgs, buyers: usize) -> ProgressBar {
    if args.quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(args.units));
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} sold of {prefix} buyers · {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(buyers.to_string());
    bar
}

//! The figures, the ratios the goals are about, and the checks that make a run valid.

use anyhow::Result;
use serde_json::{Value, json};

use crate::load::Tally;
use crate::support::round2;

const C_OVER_A_GOAL: f64 = 20.0;
const C_OVER_B_GOAL: f64 = 0.5;
const ORDERS_P99_GOAL_MS: f64 = 250.0;
/// The offered rate the p99 goal is set at.
const ORDERS_RATE_GOAL: u32 = 500;

/// One phase's figures.
pub struct PhaseFigures {
    key: &'static str,
    label: &'static str,
    attempts: u64,
    took: u64,
    short: u64,
    errors: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The rate asked for, in an open-loop phase.
    offered_rate: Option<u32>,
}

impl PhaseFigures {
    fn from_tally(key: &'static str, label: &'static str, tally: &Tally) -> Self {
        PhaseFigures {
            key,
            label,
            attempts: tally.attempts(),
            took: tally.took,
            short: tally.short,
            errors: tally.errors,
            per_second: tally.per_second(),
            p50_ms: tally.millis(0.5),
            p99_ms: tally.millis(0.99),
            max_ms: tally.millis(1.0),
            offered_rate: None,
        }
    }

    pub fn closed(key: &'static str, label: &'static str, tally: &Tally) -> Self {
        Self::from_tally(key, label, tally)
    }

    pub fn open(key: &'static str, label: &'static str, tally: &Tally, rate: u32) -> Self {
        PhaseFigures {
            offered_rate: Some(rate),
            // Orders answered per second, sold out or not: what the shop kept up with.
            per_second: (tally.took + tally.short) as f64 / tally.elapsed.as_secs_f64().max(1e-9),
            ..Self::from_tally(key, label, tally)
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "attempts": self.attempts, "took": self.took, "short": self.short,
            "errors": self.errors, "per_second": round2(self.per_second),
            "p50_ms": round2(self.p50_ms), "p99_ms": round2(self.p99_ms),
            "max_ms": round2(self.max_ms), "offered_rate": self.offered_rate,
        })
    }
}

/// A fact that must hold for the figures to count.
pub struct Check {
    what: String,
    actual: i64,
    expected: i64,
    at_most: bool,
}

impl Check {
    pub fn equal(what: impl Into<String>, actual: i64, expected: i64) -> Self {
        Check {
            what: what.into(),
            actual,
            expected,
            at_most: false,
        }
    }

    pub fn at_most(what: impl Into<String>, actual: i64, limit: i64) -> Self {
        Check {
            what: what.into(),
            actual,
            expected: limit,
            at_most: true,
        }
    }

    fn holds(&self) -> bool {
        if self.at_most {
            self.actual <= self.expected
        } else {
            self.actual == self.expected
        }
    }
}

/// Units for sale and units sold, in a phase that sells out.
#[derive(Clone, Copy)]
struct SellOut {
    units: i64,
    sold: i64,
}

impl SellOut {
    fn oversold(self) -> i64 {
        (self.sold - self.units).max(0)
    }

    fn to_json(self) -> Value {
        json!({"units": self.units, "sold": self.sold, "oversold": self.oversold()})
    }
}

pub struct Report {
    buyers: usize,
    pool: u32,
    phases: Vec<PhaseFigures>,
    checks: Vec<Check>,
    reservation_sell_out: Option<SellOut>,
    order_sell_out: Option<SellOut>,
}

impl Report {
    pub fn new(buyers: usize, pool: u32) -> Self {
        Report {
            buyers,
            pool,
            phases: Vec::new(),
            checks: Vec::new(),
            reservation_sell_out: None,
            order_sell_out: None,
        }
    }

    pub fn phase(&mut self, figures: PhaseFigures) {
        self.phases.push(figures);
    }

    pub fn check(&mut self, check: Check) {
        self.checks.push(check);
    }

    pub fn sold_out(&mut self, units: i64, sold: i64) {
        self.reservation_sell_out = Some(SellOut { units, sold });
    }

    pub fn orders_sold_out(&mut self, units: i64, sold: i64) {
        self.order_sell_out = Some(SellOut { units, sold });
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::holds)
    }

    fn figures(&self, key: &str) -> Option<&PhaseFigures> {
        self.phases.iter().find(|p| p.key == key)
    }

    /// (c)/(a) and (c)/(b), reservations per second.
    fn ratios(&self) -> (Option<f64>, Option<f64>) {
        let rate = |key| self.figures(key).map(|p| p.per_second);
        let ratio = |num: Option<f64>, den: Option<f64>| match (num, den) {
            (Some(n), Some(d)) if d > 0.0 => Some(n / d),
            _ => None,
        };
        let c = rate("c_edgeshop");
        (
            ratio(c, rate("a_naive_postgres")),
            ratio(c, rate("b_redis_script")),
        )
    }

    fn oversold(&self) -> i64 {
        [self.reservation_sell_out, self.order_sell_out]
            .into_iter()
            .flatten()
            .map(SellOut::oversold)
            .sum()
    }

    pub fn print(&self) {
        println!();
        println!(
            "| phase | attempts | succeeded | short | errors | per s | p50 ms | p99 ms | max ms |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for p in &self.phases {
            println!(
                "| {}{} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                p.label,
                p.offered_rate
                    .map(|r| format!(" at {r}/s offered"))
                    .unwrap_or_default(),
                p.attempts,
                p.took,
                p.short,
                p.errors,
                p.per_second,
                p.p50_ms,
                p.p99_ms,
                p.max_ms
            );
        }
        println!();
        let (c_over_a, c_over_b) = self.ratios();
        let verdict = |met: bool| if met { "met" } else { "NOT met" };
        if let Some(r) = c_over_a {
            println!(
                "(c)/(a) = {r:.1}x  (goal >= {C_OVER_A_GOAL}x: {})",
                verdict(r >= C_OVER_A_GOAL)
            );
        }
        if let Some(r) = c_over_b {
            println!(
                "(c)/(b) = {r:.2}x  (goal >= {C_OVER_B_GOAL}x: {})",
                verdict(r >= C_OVER_B_GOAL)
            );
        }
        if let Some(d) = self.figures("d_http_orders") {
            let offered = d.offered_rate.unwrap_or(0);
            // A lower rate says how the shop does there, not whether the goal is met.
            let outcome = if offered < ORDERS_RATE_GOAL {
                "not measured at that rate"
            } else {
                verdict(d.p99_ms < ORDERS_P99_GOAL_MS && d.errors == 0)
            };
            println!(
                "(d) p99 = {:.1} ms at {offered}/s offered, {} errors  (goal < {ORDERS_P99_GOAL_MS} ms, no errors, at {ORDERS_RATE_GOAL}/s: {outcome})",
                d.p99_ms, d.errors,
            );
        }
        for (label, sell_out) in [
            ("(c) sell-out", self.reservation_sell_out),
            ("(d) orders", self.order_sell_out),
        ] {
            if let Some(s) = sell_out {
                println!(
                    "{label}: {} units, {} sold, oversold {}",
                    s.units,
                    s.sold,
                    s.oversold()
                );
            }
        }
        println!("oversold in all: {}", self.oversold());
        println!();
        for check in &self.checks {
            println!(
                "[{}] {}: {} (expected {}{})",
                if check.holds() { "ok" } else { "FAILED" },
                check.what,
                check.actual,
                if check.at_most { "at most " } else { "" },
                check.expected
            );
        }
    }

    fn to_json(&self) -> Value {
        let (c_over_a, c_over_b) = self.ratios();
        let phases: serde_json::Map<String, Value> = self
            .phases
            .iter()
            .map(|p| (p.key.to_owned(), p.to_json()))
            .collect();
        json!({
            "at": chrono::Utc::now().to_rfc3339(),
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "buyers": self.buyers,
            "db_pool": self.pool,
            "phases": phases,
            "c_over_a": c_over_a.map(round2),
            "c_over_b": c_over_b.map(round2),
            "reservation_sell_out": self.reservation_sell_out.map(SellOut::to_json),
            "order_sell_out": self.order_sell_out.map(SellOut::to_json),
            "oversold": self.oversold(),
        })
    }

    pub fn append_jsonl(&self) -> Result<()> {
        crate::support::append_jsonl("reservations", self.to_json())
    }
}

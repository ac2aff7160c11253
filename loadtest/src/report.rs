//! The run's report: what sold and how fast, latency per step, and whether the queue was fair.

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;

use crate::FlashSaleArgs;
use crate::core_metrics::Snapshot;
use crate::measure::{Measurements, Milestones, Sample, Step};
use crate::setup::Sale;

#[derive(Debug, Serialize)]
pub struct StepFigures {
    pub step: &'static str,
    pub requests: u64,
    /// Requests answered from the sale's start to its last sale: the work the edge did per
    /// unit while units were selling (joins before the start are not in it).
    pub during_sale: u64,
    pub during_sale_per_unit_sold: Option<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The same with the wait for one of the tool's connections before the send: what the
    /// buyer waited, once the edge answers slower than requests come.
    pub p50_with_wait_ms: f64,
    pub p99_with_wait_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Fairness {
    /// Rank correlation of join order and admission order (the place the queue gave them)
    /// among early joiners: near 0 is a fair shuffle (joining first before the start bought
    /// nothing).
    pub early_joiners_rank_correlation: Option<f64>,
    /// The same for late joiners: near 1 is first come, first served.
    pub late_joiners_rank_correlation: Option<f64>,
    pub early_joiners: usize,
    pub late_joiners: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub sale: String,
    pub buyers: usize,
    /// Edge nodes the buyers were spread over.
    pub edge_nodes: usize,
    pub units: u32,
    /// Confirmed orders as the core counts them.
    pub units_sold: u64,
    /// Confirmed orders the buyers saw.
    pub orders_seen_by_buyers: u32,
    pub oversold: u64,
    pub admitted: u32,
    pub walked_away: u32,
    pub declined: u32,
    pub sold_out_answers: u32,
    /// Of those, the ones the core gave (the rest came from the edge's cursor).
    pub sold_out_answers_by_core: u64,
    pub unexpected_answers: u64,
    /// Requests the buyers' clients sent again because their connection failed.
    pub resent_after_failed_connections: u64,
    /// Requests still waiting for a connection when the run stopped (their wait is in no
    /// latency figure).
    pub never_sent: u64,
    pub first_unexpected_answer: Option<String>,
    /// From the start to the last unit's payment, when every unit sold.
    pub time_to_sell_out_seconds: Option<f64>,
    /// From the start to the payment that sold 99 % of the units: the sale without its tail
    /// (units of declined buyers come back only when their hold lapses).
    pub time_to_sell_99_percent_seconds: Option<f64>,
    pub orders_per_second: Option<f64>,
    /// `initiate` and `pay` together.
    pub checkout_p50_ms: f64,
    pub checkout_p99_ms: f64,
    /// The same with the wait for a connection.
    pub checkout_p50_with_wait_ms: f64,
    pub checkout_p99_with_wait_ms: f64,
    /// From a buyer learning they are admitted to their order being confirmed, for those who
    /// bought: the checkout as the buyer lives it, with every request, wait and retry in it.
    pub admission_to_order_p50_ms: f64,
    pub admission_to_order_p99_ms: f64,
    pub steps: Vec<StepFigures>,
    pub status_polls: u64,
    /// Admission-cursor requests the core served during the run: what the polls cost it.
    pub core_cursor_requests: u64,
    /// Buyers given a ticket.
    pub joined: usize,
    /// Joins the core answered itself (none while the edge gives tickets).
    pub core_join_requests: u64,
    /// The edge's reports of the tickets it gave, and the buyers the core counted from them
    /// (and from its own joins): all who joined, unless a report was lost.
    pub core_join_reports: u64,
    pub joins_counted_by_core: u64,
    /// The core's own time to answer a checkout (`initiate` and `pay`), from its histogram:
    /// the bucket bound each percentile falls under (none past the last bound). The rest of
    /// the tool's figure is the edge and the way there and back.
    pub core_checkout_p50_at_most_ms: Option<f64>,
    pub core_checkout_p99_at_most_ms: Option<f64>,
    pub fairness: Fairness,
    pub admission_rate_per_minute: u32,
    pub max_active_buyers: u32,
    pub token_ttl_seconds: u32,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

pub fn build(
    args: &FlashSaleArgs,
    sale: &Sale,
    measurements: &Measurements,
    view: &Value,
    core_after: &Snapshot,
    core_before: &Snapshot,
) -> Report {
    let samples = measurements.samples();
    let milestones = measurements.all_milestones();
    let units_sold = view["unitsSold"].as_u64().unwrap_or(0);
    let last_sale_ms = milestones.iter().filter_map(|m| m.bought_ms).max();
    let latencies = latencies(&samples, last_sale_ms, units_sold);
    let seen = measurements.sold.load(std::sync::atomic::Ordering::Relaxed);
    let sell_out = last_sale_ms
        .filter(|_| units_sold >= u64::from(args.units))
        .map(|ms| ms.max(1) as f64 / 1000.0);
    let admission_to_order = admission_to_order(&milestones);
    let mut bought: Vec<i64> = milestones.iter().filter_map(|m| m.bought_ms).collect();
    bought.sort_unstable();
    let ninety_nine = (u64::from(args.units) * 99).div_ceil(100) as usize;
    let sell_99 = ninety_nine
        .checked_sub(1)
        .and_then(|i| bought.get(i))
        .map(|ms| (*ms).max(1) as f64 / 1000.0);
    Report {
        sale: sale.id.clone(),
        buyers: milestones.len(),
        edge_nodes: args.edge.len(),
        units: args.units,
        units_sold,
        orders_seen_by_buyers: seen,
        oversold: units_sold
            .max(u64::from(seen))
            .saturating_sub(u64::from(args.units)),
        admitted: measurements
            .admitted
            .load(std::sync::atomic::Ordering::Relaxed),
        walked_away: measurements
            .abandoned
            .load(std::sync::atomic::Ordering::Relaxed),
        declined: measurements
            .declined
            .load(std::sync::atomic::Ordering::Relaxed),
        sold_out_answers: measurements
            .sold_out_answers
            .load(std::sync::atomic::Ordering::Relaxed),
        sold_out_answers_by_core: core_after.sold_out_answers_since(core_before),
        unexpected_answers: measurements
            .errors
            .load(std::sync::atomic::Ordering::Relaxed),
        resent_after_failed_connections: measurements
            .resent
            .load(std::sync::atomic::Ordering::Relaxed),
        never_sent: measurements
            .never_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        first_unexpected_answer: measurements.first_error.lock().ok().and_then(|e| e.clone()),
        time_to_sell_out_seconds: sell_out,
        time_to_sell_99_percent_seconds: sell_99,
        orders_per_second: sell_out.map(|s| units_sold as f64 / s),
        checkout_p50_ms: ms(&latencies.checkout, 0.5),
        checkout_p99_ms: ms(&latencies.checkout, 0.99),
        checkout_p50_with_wait_ms: ms(&latencies.checkout_with_wait, 0.5),
        checkout_p99_with_wait_ms: ms(&latencies.checkout_with_wait, 0.99),
        admission_to_order_p50_ms: ms(&admission_to_order, 0.5),
        admission_to_order_p99_ms: ms(&admission_to_order, 0.99),
        steps: latencies.steps,
        status_polls: measurements
            .status_polls
            .load(std::sync::atomic::Ordering::Relaxed),
        core_cursor_requests: core_after.cursor_requests_since(core_before),
        joined: milestones.iter().filter(|m| m.queue_rank.is_some()).count(),
        core_join_requests: core_after.join_requests_since(core_before),
        core_join_reports: core_after.join_reports_since(core_before),
        joins_counted_by_core: core_after.joins_counted_since(core_before),
        core_checkout_p50_at_most_ms: core_after.checkout_bound_ms_since(core_before, 0.5),
        core_checkout_p99_at_most_ms: core_after.checkout_bound_ms_since(core_before, 0.99),
        fairness: fairness(&milestones),
        admission_rate_per_minute: args.admission_rate,
        max_active_buyers: args.max_active_buyers,
        token_ttl_seconds: args.token_ttl,
    }
}

struct Latencies {
    steps: Vec<StepFigures>,
    /// `initiate` and `pay` together, answers alone and with the wait for a connection.
    checkout: Histogram<u64>,
    checkout_with_wait: Histogram<u64>,
}

/// Each step's figures from the samples, and the checkout's histograms.
fn latencies(samples: &[Sample], last_sale_ms: Option<i64>, units_sold: u64) -> Latencies {
    let mut steps = Vec::new();
    let mut checkout = histogram();
    let mut checkout_with_wait = histogram();
    for step in Step::ALL {
        let mut h = histogram();
        let mut with_wait = histogram();
        let mut during_sale = 0;
        for s in samples.iter().filter(|s| s.step == step) {
            if last_sale_ms.is_some_and(|last| (0..=last).contains(&s.at_ms)) {
                during_sale += 1;
            }
            let answered = s.micros.max(1);
            let waited = answered.saturating_add(s.queued_micros);
            let _ = h.record(answered);
            let _ = with_wait.record(waited);
            if matches!(step, Step::Initiate | Step::Pay) {
                let _ = checkout.record(answered);
                let _ = checkout_with_wait.record(waited);
            }
        }
        steps.push(StepFigures {
            step: step.name(),
            requests: h.len(),
            during_sale,
            during_sale_per_unit_sold: (units_sold > 0)
                .then(|| during_sale as f64 / units_sold as f64),
            p50_ms: ms(&h, 0.5),
            p99_ms: ms(&h, 0.99),
            max_ms: h.max() as f64 / 1000.0,
            p50_with_wait_ms: ms(&with_wait, 0.5),
            p99_with_wait_ms: ms(&with_wait, 0.99),
        });
    }
    Latencies {
        steps,
        checkout,
        checkout_with_wait,
    }
}

/// Microseconds from admission (as the buyer learned it) to the confirmed order, per buyer
/// who bought.
fn admission_to_order(milestones: &[Milestones]) -> Histogram<u64> {
    let mut h = histogram();
    for m in milestones {
        if let (Some(admitted), Some(bought)) = (m.admitted_ms, m.bought_ms) {
            let _ = h.record((bought.saturating_sub(admitted).max(0) as u64 * 1000).max(1));
        }
    }
    h
}

fn fairness(milestones: &[Milestones]) -> Fairness {
    let pairs = |early: bool| -> Vec<(i64, i64)> {
        milestones
            .iter()
            .filter(|m| m.early == early)
            .filter_map(|m| Some((m.joined_ms?, m.queue_rank?)))
            .collect()
    };
    let (early, late) = (pairs(true), pairs(false));
    Fairness {
        early_joiners_rank_correlation: spearman(&early),
        late_joiners_rank_correlation: spearman(&late),
        early_joiners: early.len(),
        late_joiners: late.len(),
    }
}

/// Spearman's rank correlation (Pearson's on the ranks), `None` under three pairs.
pub fn spearman(pairs: &[(i64, i64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let ranks = |values: Vec<i64>| -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by_key(|&i| values[i]);
        let mut ranks = vec![0.0; values.len()];
        let mut i = 0;
        while i < order.len() {
            // Ties share the mean of their ranks.
            let mut j = i;
            while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
                j += 1;
            }
            let rank = (i + j) as f64 / 2.0;
            for k in i..=j {
                ranks[order[k]] = rank;
            }
            i = j + 1;
        }
        ranks
    };
    let a = ranks(pairs.iter().map(|p| p.0).collect());
    let b = ranks(pairs.iter().map(|p| p.1).collect());
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

pub fn markdown(r: &Report) -> String {
    let opt = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.2}"));
    let bound = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v}"));
    let mut text = format!(
        "# Flash sale {sale}\n\n\
         | Figure | Value |\n|---|---|\n\
         | buyers | {buyers} |\n| edge nodes | {edge_nodes} |\n| units | {units} |\n| units sold (core) | {sold} |\n\
         | orders buyers saw confirmed | {seen} |\n| **oversold** | **{oversold}** |\n\
         | admitted | {admitted} |\n| walked away after admission | {walked} |\n\
         | declined cards | {declined} |\n| \"sold out\" answers at checkout (of them, the core's) | {sold_out} ({sold_out_core}) |\n\
         | unexpected answers | {errors} |\n\
         | requests sent again after a failed connection | {resent} |\n\
         | requests still waiting for a connection when the run stopped | {never_sent} |\n\
         | time to sell out | {sell_out} s |\n\
         | time to sell 99 % | {sell_99} s |\n\
         | orders per second | {ops} |\n| checkout p50 / p99 | {c50:.1} / {c99:.1} ms |\n\
         | the same with the wait for one of the tool's connections | {cw50:.1} / {cw99:.1} ms |\n\
         | checkout p50 / p99 at the core alone (its histogram's bounds) | ≤ {k50} / ≤ {k99} ms |\n\
         | admission to confirmed order p50 / p99 (every request, wait and retry) | {ao50:.1} / {ao99:.1} ms |\n\
         | status polls (answered at the edge) | {polls} |\n\
         | admission-cursor requests the core served | {cursor} |\n\
         | buyers given a ticket / joins the core answered / the edge's reports of its tickets / buyers the core counted | {joined} / {core_joins} / {reports} / {counted} |\n\
         | early joiners' rank correlation (join vs admission; 0 = shuffled) | {fe} |\n\
         | late joiners' rank correlation (1 = first come, first served) | {fl} |\n\
         | admission rate / most active buyers / token TTL | {rate}/min / {active} / {ttl} s |\n\n\
         | Step | Requests | from the start to the last sale | per unit sold | p50 ms | p99 ms | max ms | with the wait for a connection: p50 / p99 ms |\n\
         |---|---|---|---|---|---|---|---|\n",
        sale = r.sale,
        buyers = r.buyers,
        edge_nodes = r.edge_nodes,
        units = r.units,
        sold = r.units_sold,
        seen = r.orders_seen_by_buyers,
        oversold = r.oversold,
        admitted = r.admitted,
        walked = r.walked_away,
        declined = r.declined,
        sold_out = r.sold_out_answers,
        sold_out_core = r.sold_out_answers_by_core,
        errors = r.unexpected_answers,
        resent = r.resent_after_failed_connections,
        never_sent = r.never_sent,
        sell_out = opt(r.time_to_sell_out_seconds),
        sell_99 = opt(r.time_to_sell_99_percent_seconds),
        ops = opt(r.orders_per_second),
        c50 = r.checkout_p50_ms,
        c99 = r.checkout_p99_ms,
        cw50 = r.checkout_p50_with_wait_ms,
        cw99 = r.checkout_p99_with_wait_ms,
        k50 = bound(r.core_checkout_p50_at_most_ms),
        k99 = bound(r.core_checkout_p99_at_most_ms),
        ao50 = r.admission_to_order_p50_ms,
        ao99 = r.admission_to_order_p99_ms,
        polls = r.status_polls,
        cursor = r.core_cursor_requests,
        joined = r.joined,
        core_joins = r.core_join_requests,
        reports = r.core_join_reports,
        counted = r.joins_counted_by_core,
        fe = opt(r.fairness.early_joiners_rank_correlation),
        fl = opt(r.fairness.late_joiners_rank_correlation),
        rate = r.admission_rate_per_minute,
        active = r.max_active_buyers,
        ttl = r.token_ttl_seconds,
    );
    for s in &r.steps {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} |\n",
            s.step,
            s.requests,
            s.during_sale,
            opt(s.during_sale_per_unit_sold),
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            s.p50_with_wait_ms,
            s.p99_with_wait_ms
        ));
    }
    if let Some(first) = &r.first_unexpected_answer {
        text.push_str(&format!("\nFirst unexpected answer: {first}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{admission_to_order, latencies, spearman};
    use crate::measure::{Milestones, Sample, Step};

    #[test]
    fn admission_to_order_counts_only_buyers_who_bought() {
        let buyer = |admitted: Option<i64>, bought: Option<i64>| Milestones {
            admitted_ms: admitted,
            bought_ms: bought,
            ..Milestones::default()
        };
        let mut everyone: Vec<Milestones> = (0..99)
            .map(|i| buyer(Some(1_000 + i), Some(1_100 + i)))
            .collect();
        // One bought 5 s after admission; one walked away; one never got in.
        everyone.push(buyer(Some(2_000), Some(7_000)));
        everyone.push(buyer(Some(3_000), None));
        everyone.push(buyer(None, None));
        let h = admission_to_order(&everyone);
        assert_eq!(h.len(), 100);
        assert!((super::ms(&h, 0.5) - 100.0).abs() < 0.5);
        assert!((super::ms(&h, 1.0) - 5_000.0).abs() < 5.0);
    }

    #[test]
    fn a_buyer_s_wait_for_a_connection_counts_beside_the_answer() {
        // 100 payments answered in 10 ms; the last ten waited a second for a connection.
        let samples: Vec<Sample> = (0..100)
            .map(|i| Sample {
                at_ms: 1_000 + i,
                step: Step::Pay,
                micros: 10_000,
                queued_micros: if i >= 90 { 1_000_000 } else { 0 },
            })
            .collect();
        let l = latencies(&samples, Some(2_000), 100);
        let pay = l.steps.iter().find(|s| s.step == "pay").unwrap();
        assert_eq!(pay.requests, 100);
        assert_eq!(pay.during_sale, 100);
        assert!((pay.p99_ms - 10.0).abs() < 0.1, "{}", pay.p99_ms);
        assert!((pay.p50_with_wait_ms - 10.0).abs() < 0.1);
        assert!(
            (pay.p99_with_wait_ms - 1_010.0).abs() < 2.0,
            "{}",
            pay.p99_with_wait_ms
        );
        assert!((super::ms(&l.checkout_with_wait, 0.99) - 1_010.0).abs() < 2.0);
        assert!((super::ms(&l.checkout, 0.99) - 10.0).abs() < 0.1);
    }

    #[test]
    fn rank_correlation_tells_order_from_shuffle() {
        let same: Vec<(i64, i64)> = (0..10).map(|i| (i, i * 3)).collect();
        assert!((spearman(&same).unwrap() - 1.0).abs() < 1e-9);
        let reversed: Vec<(i64, i64)> = (0..10).map(|i| (i, -i)).collect();
        assert!((spearman(&reversed).unwrap() + 1.0).abs() < 1e-9);
        assert_eq!(spearman(&[(1, 1), (2, 2)]), None);
    }
}

//! The core's own figures, read from its Prometheus `/metrics` before and after the sale: the
//! admission-cursor requests it served (what the status polls cost it), the joins it answered
//! itself and the edge's reports of the tickets it gave (what the joins cost it), the joins it
//! counted, and how long it took to answer checkouts, apart from the time those requests spent
//! at the edge and on the way.
//! Set beside the tool's own checkout figures, the difference is where a slow checkout waited.

use anyhow::Context;

/// The checkout's routes, as the core labels them.
const CHECKOUT_ROUTES: [&str; 2] = [
    "route=\"/api/checkout/initiate\"",
    "route=\"/api/checkout/{checkoutId}/pay\"",
];
const CURSOR_ROUTE: &str = "route=\"/api/flash-sales/{flashSaleId}/admission\"";
const JOIN_ROUTE: &str = "route=\"/api/flash-sales/{flashSaleId}/queue\"";
const REPORT_ROUTE: &str = "route=\"/api/flash-sales/{flashSaleId}/queue/joins\"";
const JOINS_COUNTED: &str = "flash_sale_queue_joins_total";
const SOLD_OUT_ANSWERS: &str = "flash_sale_sold_out_answers_total";

/// The core's counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    cursor_requests: u64,
    join_requests: u64,
    join_reports: u64,
    joins_counted: u64,
    sold_out_answers: u64,
    /// Checkout answers (both routes) at or under each bucket bound, in seconds, by bound.
    checkout_buckets: Vec<(f64, u64)>,
}

pub async fn snapshot(http: &reqwest::Client, core: &str) -> anyhow::Result<Snapshot> {
    let text = http
        .get(format!("{}/metrics", core.trim_end_matches('/')))
        .send()
        .await
        .context("the core's metrics")?
        .error_for_status()
        .context("the core's metrics")?
        .text()
        .await?;
    Ok(parse(&text))
}

/// Reads the two figures out of the Prometheus text format; lines it does not know are skipped.
pub fn parse(text: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for line in text.lines() {
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let requests = line.starts_with("http_requests_total{");
        if requests && line.contains(CURSOR_ROUTE) {
            snapshot.cursor_requests += value as u64;
        } else if requests && line.contains(JOIN_ROUTE) {
            snapshot.join_requests += value as u64;
        } else if requests && line.contains(REPORT_ROUTE) {
            snapshot.join_reports += value as u64;
        } else if line.starts_with(JOINS_COUNTED) {
            snapshot.joins_counted += value as u64;
        } else if line.starts_with(SOLD_OUT_ANSWERS) {
            snapshot.sold_out_answers += value as u64;
        } else if line.starts_with("http_request_duration_seconds_bucket{")
            && line.contains("method=\"POST\"")
            && CHECKOUT_ROUTES.iter().any(|r| line.contains(r))
            && let Some(bound) = bucket_bound(line)
        {
            match snapshot
                .checkout_buckets
                .iter_mut()
                .find(|(b, _)| *b == bound)
            {
                Some((_, count)) => *count += value as u64,
                None => snapshot.checkout_buckets.push((bound, value as u64)),
            }
        }
    }
    snapshot
        .checkout_buckets
        .sort_by(|a, b| a.0.total_cmp(&b.0));
    snapshot
}

/// A bucket's `le` label in seconds (`+Inf` is infinite).
fn bucket_bound(line: &str) -> Option<f64> {
    let start = line.find("le=\"")? + 4;
    let end = start + line[start..].find('"')?;
    match &line[start..end] {
        "+Inf" => Some(f64::INFINITY),
        bound => bound.parse().ok(),
    }
}

impl Snapshot {
    pub fn cursor_requests_since(&self, earlier: &Snapshot) -> u64 {
        self.cursor_requests.saturating_sub(earlier.cursor_requests)
    }

    /// Joins the core answered itself (`POST …/queue`).
    pub fn join_requests_since(&self, earlier: &Snapshot) -> u64 {
        self.join_requests.saturating_sub(earlier.join_requests)
    }

    /// Reports of the edge's tickets (`POST …/queue/joins`).
    pub fn join_reports_since(&self, earlier: &Snapshot) -> u64 {
        self.join_reports.saturating_sub(earlier.join_reports)
    }

    /// Buyers the core counted into a queue, however they came.
    pub fn joins_counted_since(&self, earlier: &Snapshot) -> u64 {
        self.joins_counted.saturating_sub(earlier.joins_counted)
    }

    /// Checkouts the core itself told "sold out" (the rest the edge told from its cursor).
    pub fn sold_out_answers_since(&self, earlier: &Snapshot) -> u64 {
        self.sold_out_answers
            .saturating_sub(earlier.sold_out_answers)
    }

    /// The smallest bucket bound, in ms, at or under which `q` of the checkouts answered since
    /// `earlier` were answered: the percentile as an upper bound, as fine as the core's buckets.
    /// `None` without checkouts, or when the percentile is past the last finite bound.
    pub fn checkout_bound_ms_since(&self, earlier: &Snapshot, q: f64) -> Option<f64> {
        let since: Vec<(f64, u64)> = self
            .checkout_buckets
            .iter()
            .map(|&(bound, count)| {
                let before = earlier
                    .checkout_buckets
                    .iter()
                    .find(|(b, _)| *b == bound)
                    .map_or(0, |(_, c)| *c);
                (bound, count.saturating_sub(before))
            })
            .collect();
        let total = since.last()?.1;
        if total == 0 {
            return None;
        }
        // Less a hair, so that 0.99 of 100 is 99 whatever the float rounding.
        let wanted = (q * total as f64 - 1e-9).ceil().max(1.0) as u64;
        since
            .iter()
            .find(|(_, count)| *count >= wanted)
            .map(|(bound, _)| bound * 1000.0)
            .filter(|ms| ms.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(initiate: [u64; 4], pay: [u64; 4], cursor: u64) -> String {
        let mut text = format!(
            "# TYPE http_requests_total counter\n\
             http_requests_total{{method=\"GET\",route=\"/api/flash-sales/{{flashSaleId}}/admission\",status=\"200\"}} {cursor}\n\
             http_requests_total{{method=\"POST\",route=\"/api/flash-sales/{{flashSaleId}}/queue\",status=\"200\"}} {joins}\n\
             http_requests_total{{method=\"POST\",route=\"/api/flash-sales/{{flashSaleId}}/queue/joins\",status=\"200\"}} {reports}\n\
             flash_sale_queue_joins_total {counted}\n\
             flash_sale_sold_out_answers_total {sold_out}\n\
             http_requests_total{{method=\"POST\",route=\"/api/checkout/initiate\",status=\"201\"}} 999\n\
             http_request_duration_seconds_bucket{{method=\"POST\",route=\"/api/flash-sales/{{flashSaleId}}/queue\",le=\"0.01\"}} 500\n",
            joins = cursor + 1,
            reports = cursor * 2,
            counted = cursor * 100,
            sold_out = cursor * 3,
        );
        for (route, counts) in [
            ("/api/checkout/initiate", initiate),
            ("/api/checkout/{checkoutId}/pay", pay),
        ] {
            for (bound, count) in ["0.01", "0.1", "0.25", "+Inf"].iter().zip(counts) {
                text.push_str(&format!(
                    "http_request_duration_seconds_bucket{{method=\"POST\",route=\"{route}\",le=\"{bound}\"}} {count}\n"
                ));
            }
        }
        text
    }

    #[test]
    fn checkout_percentiles_come_from_both_routes_buckets_since_the_start() {
        let before = parse(&metrics([5, 5, 5, 5], [0, 0, 0, 0], 3));
        // Since then: 100 answers, 50 within 10 ms, 98 within 100 ms, 99 within 250 ms.
        let after = parse(&metrics([35, 75, 76, 77], [20, 28, 28, 28], 10));
        assert_eq!(after.cursor_requests_since(&before), 7);
        assert_eq!(after.join_requests_since(&before), 7);
        assert_eq!(after.join_reports_since(&before), 14);
        assert_eq!(after.joins_counted_since(&before), 700);
        assert_eq!(after.sold_out_answers_since(&before), 21);
        assert_eq!(after.checkout_bound_ms_since(&before, 0.5), Some(10.0));
        assert_eq!(after.checkout_bound_ms_since(&before, 0.98), Some(100.0));
        assert_eq!(after.checkout_bound_ms_since(&before, 0.99), Some(250.0));
        assert_eq!(
            after.checkout_bound_ms_since(&before, 1.0),
            None,
            "the slowest is past the last bound"
        );
        assert_eq!(
            before.checkout_bound_ms_since(&before, 0.5),
            None,
            "none since"
        );
    }

    #[test]
    fn lines_it_does_not_know_are_skipped() {
        let snapshot = parse("garbage\nhttp_requests_total{route=\"x\"} not-a-number\n");
        assert_eq!(snapshot.cursor_requests, 0);
        assert!(snapshot.checkout_buckets.is_empty());
    }
}

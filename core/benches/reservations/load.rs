//! The two ways of driving load: closed loop (N buyers, each starting again as soon as it has
//! an answer: the most a path can take) and open loop (requests sent on a fixed schedule,
//! whatever the answers do: latency at a given rate, without coordinated omission).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Reserved (or ordered and paid).
    Took,
    /// A clear "not enough stock" answer.
    Short,
}

/// What a phase measured.
pub struct Tally {
    /// Microseconds per attempt, answers of every kind.
    pub latency: Histogram<u64>,
    pub took: u64,
    pub short: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Open loop only: latency by the second each attempt was due in, to tell a slow start
    /// from a shop that is slow throughout.
    pub by_second: Vec<Histogram<u64>>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            latency: new_histogram(),
            took: 0,
            short: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            by_second: Vec::new(),
        }
    }

    fn record(&mut self, took: Duration, result: Result<Outcome, String>) {
        let micros = took.as_micros().min(u128::from(u64::MAX)) as u64;
        self.latency.saturating_record(micros.max(1));
        match result {
            Ok(Outcome::Took) => self.took += 1,
            Ok(Outcome::Short) => self.short += 1,
            Err(err) => {
                self.errors += 1;
                self.first_error.get_or_insert(err);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        let _ = self.latency.add(&other.latency);
        self.took += other.took;
        self.short += other.short;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn attempts(&self) -> u64 {
        self.took + self.short + self.errors
    }

    /// Successful attempts per second.
    pub fn per_second(&self) -> f64 {
        self.took as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn millis(&self, quantile: f64) -> f64 {
        millis(&self.latency, quantile)
    }
}

pub fn millis(latency: &Histogram<u64>, quantile: f64) -> f64 {
    latency.value_at_quantile(quantile) as f64 / 1000.0
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant figures: the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// When a closed-loop phase stops.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// After this long.
    Elapsed(Duration),
    /// When every buyer has been told "short" once (a sell-out), or after this long.
    SoldOut(Duration),
}

/// `buyers` tasks, each calling `attempt(n)` with a run-wide sequence number until the phase
/// ends.
pub async fn closed_loop<F, Fut>(buyers: usize, until: Until, attempt: F) -> Tally
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, String>> + Send,
{
    let attempt = Arc::new(attempt);
    let sequence = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started
        + match until {
            Until::Elapsed(d) | Until::SoldOut(d) => d,
        };
    let stop_on_short = matches!(until, Until::SoldOut(_));
    let tasks: Vec<_> = (0..buyers)
        .map(|_| {
            let attempt = attempt.clone();
            let sequence = sequence.clone();
            tokio::spawn(async move {
                let mut tally = Tally::new();
                while Instant::now() < deadline {
                    let n = sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let began = Instant::now();
                    let result = attempt(n).await;
                    let short = result == Ok(Outcome::Short);
                    tally.record(began.elapsed(), result);
                    if stop_on_short && short {
                        break;
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = gather(tasks, "a buyer task", Tally::merge).await;
    total.elapsed = started.elapsed();
    total
}

/// Adds up what the tasks answer with `add`; a task that died counts as an error.
async fn gather<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
    what: &str,
    add: impl Fn(&mut Tally, T),
) -> Tally {
    let mut total = Tally::new();
    for task in tasks {
        match task.await {
            Ok(answer) => add(&mut total, answer),
            Err(err) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("{what} died: {err}"));
            }
        }
    }
    total
}

/// `count` attempts at `rate` per second. Each attempt's latency runs from the moment it was
/// due, so a stalled server shows up in the figures instead of slowing the schedule.
pub async fn open_loop<F, Fut>(rate: u32, count: u64, attempt: F) -> Tally
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, String>> + Send + 'static,
{
    let attempt = Arc::new(attempt);
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut tasks = Vec::with_capacity(count as usize);
    for n in 0..count {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due).await;
        let attempt = attempt.clone();
        let second = (due - started).as_secs() as usize;
        tasks.push(tokio::spawn(async move {
            let result = attempt(n).await;
            (second, due.elapsed(), result)
        }));
    }
    let mut tally = gather(tasks, "an order task", |tally, (second, took, result)| {
        if tally.by_second.len() <= second {
            tally.by_second.resize_with(second + 1, new_histogram);
        }
        let micros = took.as_micros().min(u128::from(u64::MAX)) as u64;
        tally.by_second[second].saturating_record(micros.max(1));
        tally.record(took, result)
    })
    .await;
    tally.elapsed = started.elapsed();
    tally
}

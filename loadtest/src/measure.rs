//! What the run measures: every request's latency by step, and the moments buyers joined, were
//! admitted and bought, on a clock that starts at the sale's start.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Join,
    Status,
    Cart,
    Initiate,
    Pay,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Join,
        Step::Status,
        Step::Cart,
        Step::Initiate,
        Step::Pay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Join => "join",
            Step::Status => "status",
            Step::Cart => "cart",
            Step::Initiate => "initiate",
            Step::Pay => "pay",
        }
    }
}

/// One request: when it ended (ms from the start), which step, how long it took (µs), and
/// how long before that it waited for one of the tool's connections (its step's requests in
/// flight are capped), which its buyer waited too.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at_ms: i64,
    pub step: Step,
    pub micros: u64,
    pub queued_micros: u64,
}

/// One buyer's milestones (ms from the start).
#[derive(Debug, Clone, Copy, Default)]
pub struct Milestones {
    pub joined_ms: Option<i64>,
    pub early: bool,
    /// The place the queue gave the ticket: the lottery number of an early joiner, the
    /// arrival time (ms) of a late one. Admission follows it.
    pub queue_rank: Option<i64>,
    pub admitted_ms: Option<i64>,
    pub bought_ms: Option<i64>,
}

pub struct Measurements {
    pub starts_at: DateTime<Utc>,
    pub sold: AtomicU32,
    pub admitted: AtomicU32,
    pub declined: AtomicU32,
    pub abandoned: AtomicU32,
    pub sold_out_answers: AtomicU32,
    pub status_polls: AtomicU64,
    /// Answers no buyer should get (5xx, unexpected 4xx, transport errors left after resending).
    pub errors: AtomicU64,
    /// Requests sent again because their connection failed.
    pub resent: AtomicU64,
    /// Requests still waiting for a connection when the run stopped: never sent, so their
    /// wait is in no figure (the figures with the wait are a floor).
    pub never_sent: AtomicU64,
    pub first_error: Mutex<Option<String>>,
    samples: Mutex<Vec<Sample>>,
    milestones: Mutex<Vec<Milestones>>,
}

impl Measurements {
    pub fn new(starts_at: DateTime<Utc>) -> Self {
        Measurements {
            starts_at,
            sold: AtomicU32::new(0),
            admitted: AtomicU32::new(0),
            declined: AtomicU32::new(0),
            abandoned: AtomicU32::new(0),
            sold_out_answers: AtomicU32::new(0),
            status_polls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            resent: AtomicU64::new(0),
            never_sent: AtomicU64::new(0),
            first_error: Mutex::new(None),
            samples: Mutex::new(Vec::new()),
            milestones: Mutex::new(Vec::new()),
        }
    }

    /// Milliseconds from the sale's start to now (negative before it).
    pub fn now_ms(&self) -> i64 {
        (Utc::now() - self.starts_at).num_milliseconds()
    }

    /// A request its buyer `asked` for, sent once a connection was free (`started`).
    pub fn record(&self, step: Step, asked: Instant, started: Instant) {
        let sample = Sample {
            at_ms: self.now_ms(),
            step,
            micros: started.elapsed().as_micros() as u64,
            queued_micros: started.saturating_duration_since(asked).as_micros() as u64,
        };
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(sample);
        }
        if step == Step::Status {
            self.status_polls.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn error(&self, what: String) {
        if what == crate::buyer::STOPPED {
            return;
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock()
            && first.is_none()
        {
            *first = Some(what);
        }
    }

    pub fn milestones(&self, buyer: usize, update: impl FnOnce(&mut Milestones)) {
        if let Ok(mut all) = self.milestones.lock() {
            if all.len() <= buyer {
                all.resize(buyer + 1, Milestones::default());
            }
            update(&mut all[buyer]);
        }
    }

    /// One line of where the run stands, for logs.
    pub fn summary_line(&self) -> String {
        let mut requests = [0u64; 5];
        if let Ok(samples) = self.samples.lock() {
            for s in samples.iter() {
                requests[Step::ALL.iter().position(|x| *x == s.step).unwrap_or(0)] += 1;
            }
        }
        let steps: Vec<String> = Step::ALL
            .iter()
            .zip(requests)
            .map(|(step, n)| format!("{} {n}", step.name()))
            .collect();
        format!(
            "t={:.0}s sold {} admitted {} errors {} · requests: {}",
            self.now_ms() as f64 / 1000.0,
            self.sold.load(Ordering::Relaxed),
            self.admitted.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            steps.join(", ")
        )
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn all_milestones(&self) -> Vec<Milestones> {
        self.milestones
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }
}

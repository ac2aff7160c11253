//! A circuit breaker for one outbound dependency (the design brief: open after 5 consecutive
//! failures or >= 50 % failures over the last 20 calls, half-open after 30 s). While open, calls
//! are refused without touching the network, so a dead gateway costs microseconds, not timeouts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::clock::{Clock, SystemClock};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Open after this many failures in a row.
    pub consecutive_failures: u32,
    /// The sliding window of recent calls the failure rate is measured over.
    pub window: usize,
    /// Open when at least this percentage of a full window failed.
    pub failure_percent: u32,
    /// How long an open breaker refuses calls before letting one trial through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            window: 20,
            failure_percent: 50,
            open_for: Duration::from_secs(30),
        }
    }
}

impl BreakerSettings {
    /// Why these settings make no sense, if they don't.
    pub fn validate(&self) -> Result<(), String> {
        if self.consecutive_failures == 0 {
            return Err("consecutive_failures must be at least 1".into());
        }
        if self.window == 0 {
            return Err("window must hold at least 1 call".into());
        }
        if !(1..=100).contains(&self.failure_percent) {
            return Err("failure_percent must be within 1..=100".into());
        }
        Ok(())
    }

    /// The nearest sensible settings, so a breaker built from bad ones still behaves.
    fn sanitized(mut self) -> Self {
        self.consecutive_failures = self.consecutive_failures.max(1);
        self.window = self.window.max(1);
        self.failure_percent = self.failure_percent.clamp(1, 100);
        self
    }
}

/// What the breaker does with the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; outcomes are counted.
    Closed,
    /// One trial call may go through; its outcome closes or re-opens the breaker.
    HalfOpen,
    /// Calls are refused without being tried.
    Open,
}

impl BreakerState {
    /// The value of the `circuit_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    pub fn gauge_value(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// Why a call was refused without being tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("circuit breaker open for another {remaining:?}")]
    Open { remaining: Duration },
    #[error("circuit breaker half-open with its trial call in flight")]
    TrialInFlight,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    /// Bumped on every change of phase. A permit remembers the generation it was issued in, so
    /// the outcome of a call that started before the breaker opened (or before it closed again)
    /// cannot move the new phase: a slow success from the old closed period must not close a
    /// breaker that has since opened.
    generation: u64,
    /// Outcomes of the latest calls in the closed phase, oldest first; `true` is a failure.
    recent: VecDeque<bool>,
    recent_failures: usize,
    consecutive_failures: u32,
}

/// A thread-safe circuit breaker.
///
/// Every call asks for a [`Permit`] first and settles it with [`Permit::succeeded`] or
/// [`Permit::failed`]. A permit dropped unsettled (the caller was cancelled) counts as neither:
/// it says nothing about the dependency, and in the half-open phase it frees the trial slot for
/// the next caller instead of leaving the breaker stuck.
///
/// Open turns into half-open lazily, when someone next asks (a call or [`Self::state`]), so no
/// timer task is needed.
#[derive(Debug)]
pub struct CircuitBreaker {
    dependency: String,
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker for `dependency` (the gauge's label) on the system clock.
    pub fn new(dependency: impl Into<String>, settings: BreakerSettings) -> Self {
        Self::with_clock(dependency, settings, Arc::new(SystemClock))
    }

    /// A closed breaker that reads the time from `clock`.
    pub fn with_clock(
        dependency: impl Into<String>,
        settings: BreakerSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let settings = settings.sanitized();
        let breaker = Self {
            dependency: dependency.into(),
            inner: Mutex::new(Inner {
                phase: Phase::Closed,
                generation: 0,
                recent: VecDeque::with_capacity(settings.window),
                recent_failures: 0,
                consecutive_failures: 0,
            }),
            settings,
            clock,
        };
        breaker.publish(BreakerState::Closed);
        breaker
    }

    pub fn dependency(&self) -> &str {
        &self.dependency
    }

    pub fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The current state; an open breaker whose time is up reports (and becomes) half-open.
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.promote_if_due(&mut inner);
        match inner.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
            Phase::Open { .. } => BreakerState::Open,
        }
    }

    /// Asks to make a call. Refused while open, and while half-open with the trial in flight.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let mut inner = self.lock();
        self.promote_if_due(&mut inner);
        match inner.phase {
            Phase::Closed => Ok(Permit::new(self, inner.generation, false)),
            Phase::Open { until } => Err(Rejected::Open {
                remaining: until.saturating_duration_since(self.clock.now()),
            }),
            Phase::HalfOpen {
                trial_in_flight: true,
            } => Err(Rejected::TrialInFlight),
            Phase::HalfOpen {
                trial_in_flight: false,
            } => {
                inner.phase = Phase::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(Permit::new(self, inner.generation, true))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is a few counters that every update leaves consistent, so a panic elsewhere
        // while the lock was held does not make it unusable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn promote_if_due(&self, inner: &mut Inner) {
        if let Phase::Open { until } = inner.phase
            && self.clock.now() >= until
        {
            self.enter(
                inner,
                Phase::HalfOpen {
                    trial_in_flight: false,
                },
            );
        }
    }

    fn enter(&self, inner: &mut Inner, phase: Phase) {
        inner.phase = phase;
        inner.generation += 1;
        // Each closed period starts with a clean slate: failures from before the breaker opened
        // must not trip it again right after a successful trial.
        inner.recent.clear();
        inner.recent_failures = 0;
        inner.consecutive_failures = 0;
        let state = match phase {
            Phase::Closed => BreakerState::Closed,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
            Phase::Open { .. } => BreakerState::Open,
        };
        if matches!(phase, Phase::Open { .. }) {
            tracing::warn!(dependency = %self.dependency, "circuit breaker opened");
        } else {
            tracing::info!(dependency = %self.dependency, ?state, "circuit breaker state changed");
        }
        self.publish(state);
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!("circuit_breaker_state", "dependency" => self.dependency.clone())
            .set(state.gauge_value());
    }

    fn open(&self, inner: &mut Inner) {
        let until = self.clock.now() + self.settings.open_for;
        self.enter(inner, Phase::Open { until });
    }

    fn settle(&self, generation: u64, trial: bool, failed: bool) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        match inner.phase {
            Phase::Closed => {
                let settings = &self.settings;
                inner.recent.push_back(failed);
                if failed {
                    inner.recent_failures += 1;
                    inner.consecutive_failures += 1;
                } else {
                    inner.consecutive_failures = 0;
                }
                if inner.recent.len() > settings.window && inner.recent.pop_front() == Some(true) {
                    inner.recent_failures -= 1;
                }
                let window_full = inner.recent.len() == settings.window;
                // Integer percentages: failures / window >= percent / 100, without floats.
                let rate_tripped = window_full
                    && inner.recent_failures * 100
                        >= settings.failure_percent as usize * settings.window;
                if inner.consecutive_failures >= settings.consecutive_failures || rate_tripped {
                    self.open(&mut inner);
                }
            }
            Phase::HalfOpen { .. } if trial => {
                if failed {
                    self.open(&mut inner);
                } else {
                    self.enter(&mut inner, Phase::Closed);
                }
            }
            Phase::HalfOpen { .. } | Phase::Open { .. } => {}
        }
    }

    fn abandon(&self, generation: u64, trial: bool) {
        let mut inner = self.lock();
        if trial
            && inner.generation == generation
            && matches!(
                inner.phase,
                Phase::HalfOpen {
                    trial_in_flight: true
                }
            )
        {
            inner.phase = Phase::HalfOpen {
                trial_in_flight: false,
            };
        }
    }
}

/// Leave to make one call. Settle it with its outcome; dropping it unsettled counts as neither.
#[must_use = "a permit should be settled with the call's outcome"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    trial: bool,
    settled: bool,
}

impl<'a> Permit<'a> {
    fn new(breaker: &'a CircuitBreaker, generation: u64, trial: bool) -> Self {
        Self {
            breaker,
            generation,
            trial,
            settled: false,
        }
    }

    /// Whether this is the half-open phase's single trial call.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// The dependency answered sensibly (for HTTP: any 2xx or 4xx).
    pub fn succeeded(mut self) {
        self.settled = true;
        self.breaker.settle(self.generation, self.trial, false);
    }

    /// The dependency failed (timeout, transport error, 5xx, 429).
    pub fn failed(mut self) {
        self.settled = true;
        self.breaker.settle(self.generation, self.trial, true);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.breaker.abandon(self.generation, self.trial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::clock::ManualClock;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const OPEN_FOR: Duration = Duration::from_secs(30);

    fn breaker() -> (CircuitBreaker, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let b = CircuitBreaker::with_clock("test", BreakerSettings::default(), clock.clone());
        (b, clock)
    }

    fn call(b: &CircuitBreaker, fail: bool) {
        let permit = b
            .try_acquire()
            .expect("the breaker should let this call through");
        if fail {
            permit.failed()
        } else {
            permit.succeeded()
        }
    }

    fn open_it(b: &CircuitBreaker) {
        for _ in 0..5 {
            call(b, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn a_new_breaker_is_closed_and_lets_calls_through() {
        let (b, _) = breaker();
        assert_eq!(b.state(), BreakerState::Closed);
        for _ in 0..100 {
            call(&b, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn five_consecutive_failures_open_it() {
        let (b, _) = breaker();
        for _ in 0..4 {
            call(&b, true);
            assert_eq!(b.state(), BreakerState::Closed);
        }
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn a_success_breaks_the_run_of_failures() {
        let (b, _) = breaker();
        for _ in 0..4 {
            call(&b, true);
        }
        call(&b, false);
        for _ in 0..4 {
            call(&b, true);
        }
        // 8 failures out of 9 calls, never 5 in a row, and the window is not full yet.
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn an_open_breaker_refuses_calls_until_its_time_is_up() {
        let (b, clock) = breaker();
        open_it(&b);
        assert_eq!(
            b.try_acquire().err(),
            Some(Rejected::Open {
                remaining: OPEN_FOR
            })
        );
        clock.advance(OPEN_FOR - Duration::from_millis(1));
        assert_eq!(
            b.try_acquire().err(),
            Some(Rejected::Open {
                remaining: Duration::from_millis(1)
            })
        );
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn half_or_more_failures_over_a_full_window_of_twenty_open_it() {
        let (b, _) = breaker();
        // fail, ok, fail, ok ...: never two failures in a row, 50 % failures.
        for i in 0..19 {
            call(&b, i % 2 == 0);
            assert_eq!(b.state(), BreakerState::Closed, "after call {i}");
        }
        // 10 failures of 19 so far, but the rule waits for a full window of 20.
        call(&b, false);
        // 20 calls, 10 failures: exactly 50 %.
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn under_half_failures_over_twenty_keep_it_closed_until_the_window_slides_to_half() {
        let (b, _) = breaker();
        // 9 failures in 20 calls (45 %), in runs of at most 4; the oldest call succeeded.
        let pattern = [
            false, true, true, true, true, false, true, true, true, true, false, false, false,
            false, false, false, false, false, false, true,
        ];
        assert_eq!(pattern.iter().filter(|f| **f).count(), 9);
        for fail in pattern {
            call(&b, fail);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // One more failure pushes the oldest call (a success) out: 10 of the last 20.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn only_the_latest_twenty_calls_count() {
        let (b, _) = breaker();
        for _ in 0..30 {
            call(&b, false);
        }
        // success, failure, success ...: never two failures in a row.
        for i in 0..19 {
            call(&b, i % 2 == 1);
            assert_eq!(b.state(), BreakerState::Closed, "after call {i}");
        }
        // The last 20 calls: one old success and 19 new ones with 9 failures; one more failure
        // makes 10 of 20, although only 10 of the 50 calls so far failed.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn half_open_lets_exactly_one_trial_through() {
        let (b, clock) = breaker();
        open_it(&b);
        clock.advance(OPEN_FOR);
        let trial = b.try_acquire().expect("the trial call");
        assert!(trial.is_trial());
        assert_eq!(b.try_acquire().err(), Some(Rejected::TrialInFlight));
        assert_eq!(b.try_acquire().err(), Some(Rejected::TrialInFlight));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        trial.succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_successful_trial_closes_it_with_a_clean_slate() {
        let (b, clock) = breaker();
        open_it(&b);
        clock.advance(OPEN_FOR);
        call(&b, false); // the trial
        assert_eq!(b.state(), BreakerState::Closed);
        // Had the run of five failures survived, the first failure would re-open it; had the
        // window survived, these 8 failures would make 13 of the last 20.
        let (t, f) = (true, false);
        for fail in [t, t, t, t, f, t, t, t, t, f, f, f, f, f, f] {
            call(&b, fail);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_opens_it_for_another_period() {
        let (b, clock) = breaker();
        open_it(&b);
        clock.advance(OPEN_FOR + Duration::from_secs(5));
        call(&b, true); // the trial
        assert_eq!(
            b.try_acquire().err(),
            Some(Rejected::Open {
                remaining: OPEN_FOR
            })
        );
        clock.advance(OPEN_FOR);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn a_trial_abandoned_by_its_caller_frees_the_slot() {
        let (b, clock) = breaker();
        open_it(&b);
        clock.advance(OPEN_FOR);
        drop(b.try_acquire().expect("the trial call"));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let second = b
            .try_acquire()
            .expect("a new trial after the first was abandoned");
        assert!(second.is_trial());
        second.failed();
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn an_abandoned_call_in_the_closed_phase_counts_as_nothing() {
        let (b, _) = breaker();
        for _ in 0..4 {
            call(&b, true);
        }
        drop(b.try_acquire().expect("closed"));
        call(&b, true);
        // The dropped permit neither broke the run nor extended it: this is failure 5.
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn late_outcomes_from_before_a_change_of_phase_are_ignored() {
        let (b, clock) = breaker();
        let slow_success = b.try_acquire().expect("closed");
        let slow_failure = b.try_acquire().expect("closed");
        let stale_failure = b.try_acquire().expect("closed");
        open_it(&b);
        // A success that started while closed must not close the open breaker...
        slow_success.succeeded();
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(OPEN_FOR);
        let trial = b.try_acquire().expect("the trial call");
        // ...nor may a stale failure re-open the half-open one while its trial runs.
        slow_failure.failed();
        assert_eq!(b.state(), BreakerState::HalfOpen);
        trial.succeeded();
        assert_eq!(b.state(), BreakerState::Closed);
        // ...nor may a failure from the previous closed period count in the new one.
        stale_failure.failed();
        for _ in 0..4 {
            call(&b, true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn concurrent_callers_in_half_open_get_one_trial_between_them() {
        let (b, clock) = breaker();
        open_it(&b);
        clock.advance(OPEN_FOR);
        const CALLERS: usize = 16;
        let start = Barrier::new(CALLERS);
        let all_tried = Barrier::new(CALLERS);
        let admitted = AtomicUsize::new(0);
        let refused = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..CALLERS {
                s.spawn(|| {
                    start.wait();
                    let permit = b.try_acquire();
                    match &permit {
                        Ok(p) => {
                            assert!(p.is_trial());
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            assert_eq!(*e, Rejected::TrialInFlight);
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    // Everyone asks while the trial is still in flight.
                    all_tried.wait();
                    if let Ok(p) = permit {
                        p.succeeded();
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), 1);
        assert_eq!(refused.load(Ordering::SeqCst), CALLERS - 1);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn concurrent_failures_open_it() {
        let (b, _) = breaker();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        if let Ok(p) = b.try_acquire() {
                            p.failed();
                        }
                    }
                });
            }
        });
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn thresholds_and_durations_are_configurable() {
        let clock = Arc::new(ManualClock::new());
        let settings = BreakerSettings {
            consecutive_failures: 3,
            window: 4,
            failure_percent: 75,
            open_for: Duration::from_secs(1),
        };
        let b = CircuitBreaker::with_clock("test", settings, clock.clone());
        for _ in 0..3 {
            call(&b, true);
        }
        assert_eq!(b.state(), BreakerState::Open);
        clock.advance(Duration::from_secs(1));
        call(&b, false); // the trial
        // 2 failures of 3, never 3 in a row, and the window of 4 is not full yet.
        for fail in [true, false, true] {
            call(&b, fail);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // 3 of 4 is 75 %, with only 2 in a row.
        call(&b, true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn nonsense_settings_are_reported_and_sanitized() {
        let bad = BreakerSettings {
            consecutive_failures: 0,
            window: 0,
            failure_percent: 0,
            ..BreakerSettings::default()
        };
        assert!(bad.validate().is_err());
        assert!(BreakerSettings::default().validate().is_ok());
        let (clock, settings) = (Arc::new(ManualClock::new()), bad);
        let b = CircuitBreaker::with_clock("test", settings, clock);
        assert_eq!(b.settings().window, 1);
        call(&b, false);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn the_state_is_published_as_a_gauge() {
        let recorder = gauge_recorder::GaugeRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            let (b, clock) = breaker();
            assert_eq!(recorder.last("test"), Some(0.0));
            open_it(&b);
            assert_eq!(recorder.last("test"), Some(2.0));
            clock.advance(OPEN_FOR);
            let trial = b.try_acquire().expect("the trial call");
            assert_eq!(recorder.last("test"), Some(1.0));
            trial.succeeded();
            assert_eq!(recorder.last("test"), Some(0.0));
        });
    }

    /// Just enough of a metrics recorder to read the breaker's gauge back.
    mod gauge_recorder {
        use metrics::{
            Counter, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
            Unit,
        };
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex};

        #[derive(Default)]
        pub struct GaugeRecorder {
            gauges: Mutex<HashMap<String, Arc<Cell>>>,
        }

        #[derive(Default)]
        struct Cell(Mutex<Option<f64>>);

        impl GaugeFn for Cell {
            fn increment(&self, _: f64) {}
            fn decrement(&self, _: f64) {}
            fn set(&self, value: f64) {
                *self.0.lock().unwrap() = Some(value);
            }
        }

        impl GaugeRecorder {
            /// The last value set on `circuit_breaker_state{dependency}`.
            pub fn last(&self, dependency: &str) -> Option<f64> {
                let gauges = self.gauges.lock().unwrap();
                *gauges.get(dependency)?.0.lock().unwrap()
            }
        }

        impl Recorder for GaugeRecorder {
            fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
                Counter::noop()
            }
            fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
                Histogram::noop()
            }
            fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
                assert_eq!(key.name(), "circuit_breaker_state");
                let dependency = key
                    .labels()
                    .find(|l| l.key() == "dependency")
                    .map(|l| l.value().to_owned())
                    .expect("a dependency label");
                let cell = self
                    .gauges
                    .lock()
                    .unwrap()
                    .entry(dependency)
                    .or_default()
                    .clone();
                Gauge::from_arc(cell)
            }
        }
    }
}

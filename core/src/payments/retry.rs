//! How long to wait between attempts at an outbound call: exponential backoff with full jitter
//! (base 100 ms, cap 10 s, 5 attempts, as the design brief decides). Pure arithmetic: the caller
//! passes the random source, so the bounds are testable with a seeded generator.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with full jitter.
///
/// Attempts are numbered from 0. Attempt 0 goes at once; before attempt `n >= 1` the caller
/// sleeps a uniformly random time in `[0, min(cap, base * 2^(n-1))]`. Full jitter (rather than
/// "base plus a little noise") spreads the retries of many callers that failed together, so a
/// gateway that just came back is not hit by a synchronised wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first retry's delay; each later retry doubles it.
    pub base: Duration,
    /// No delay ceiling grows beyond this.
    pub cap: Duration,
    /// How many attempts in all, the first included (so `1` means "never retry").
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
            attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// The largest delay the policy may choose before attempt `attempt` (0-based):
    /// zero for the first attempt, then `min(cap, base * 2^(attempt-1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let Some(retry) = attempt.checked_sub(1) else {
            return Duration::ZERO;
        };
        // Past 2^31 (or on any overflow) the cap has long been reached.
        2u32.checked_pow(retry)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |grown| grown.min(self.cap))
    }

    /// The delay before attempt `attempt` (0-based), drawn uniformly from `[0, ceiling]`.
    pub fn delay_before<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        // Nanosecond resolution; a ceiling beyond u64 nanoseconds (584 years) is clamped.
        let max_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if max_nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rng.gen_range(0..=max_nanos))
    }

    /// Whether another attempt is allowed after `attempts_made` attempts.
    pub fn allows_another(&self, attempts_made: u32) -> bool {
        attempts_made < self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_default_is_the_design_brief() {
        let p = RetryPolicy::default();
        assert_eq!((p.base, p.cap, p.attempts), (ms(100), ms(10_000), 5));
    }

    #[test]
    fn the_first_attempt_goes_at_once() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(p.ceiling(0), Duration::ZERO);
        for _ in 0..100 {
            assert_eq!(p.delay_before(0, &mut rng), Duration::ZERO);
        }
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_until_the_cap() {
        let p = RetryPolicy::default();
        let ceilings: Vec<_> = (1..=9).map(|n| p.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3200),
                ms(6400),
                ms(10_000),
                ms(10_000)
            ]
        );
    }

    #[test]
    fn huge_attempt_numbers_stay_at_the_cap_without_overflow() {
        let p = RetryPolicy {
            base: Duration::from_secs(u64::MAX / 4),
            cap: ms(10_000),
            attempts: u32::MAX,
        };
        for n in [2, 3, 31, 32, 33, 64, 1000, u32::MAX] {
            assert_eq!(p.ceiling(n), ms(10_000), "attempt {n}");
        }
        let mut rng = StdRng::seed_from_u64(7);
        assert!(p.delay_before(u32::MAX, &mut rng) <= ms(10_000));
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling_and_use_the_whole_range() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(42);
        for attempt in 1..=12 {
            let ceiling = p.ceiling(attempt);
            let draws: Vec<_> = (0..2000)
                .map(|_| p.delay_before(attempt, &mut rng))
                .collect();
            assert!(draws.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            // Full jitter: draws reach both the bottom and the top fifth of the range.
            assert!(draws.iter().any(|d| *d < ceiling / 5), "attempt {attempt}");
            assert!(
                draws.iter().any(|d| *d > ceiling * 4 / 5),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn later_attempts_wait_longer_on_average() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(3);
        let mean = |attempt: u32, rng: &mut StdRng| {
            (0..4000)
                .map(|_| p.delay_before(attempt, rng))
                .sum::<Duration>()
                / 4000
        };
        let means: Vec<_> = (1..=8).map(|n| mean(n, &mut rng)).collect();
        // The mean of full jitter is half the ceiling: 50, 100, 200 ... ms until the cap.
        for pair in means.windows(2) {
            assert!(pair[1] > pair[0], "{means:?}");
        }
        for (n, m) in (1..=8).zip(&means) {
            let half = p.ceiling(n) / 2;
            assert!(
                *m > half * 9 / 10 && *m < half * 11 / 10,
                "attempt {n}: {m:?}"
            );
        }
    }

    #[test]
    fn a_zero_base_never_waits() {
        let p = RetryPolicy {
            base: Duration::ZERO,
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(5);
        assert_eq!(p.delay_before(4, &mut rng), Duration::ZERO);
    }

    #[test]
    fn attempts_count_the_first_one() {
        let p = RetryPolicy::default();
        assert!(p.allows_another(0));
        assert!(p.allows_another(4));
        assert!(!p.allows_another(5));
        let never = RetryPolicy { attempts: 1, ..p };
        assert!(!never.allows_another(1));
    }
}

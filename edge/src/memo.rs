//! What one isolate keeps between the requests it serves: a Worker's isolate handles many
//! requests in turn, so a value every request needs (the waiting room's admission cursor) is
//! kept here rather than read from the edge cache each time. While one request refreshes an
//! old value, the others are answered with it instead of all asking at once (single flight);
//! only a value older than its freshness plus `stale_for` makes a request wait for its own
//! answer. A runtime that starts a new instance per request (Spin) simply starts empty.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};

struct Slot {
    fetched_at: DateTime<Utc>,
    value: Rc<dyn Any>,
    refreshing: bool,
}

thread_local! {
    // Wasm runtimes run an isolate's requests on one thread; tests get one map per thread.
    static SLOTS: RefCell<HashMap<String, Slot>> = RefCell::new(HashMap::new());
}

/// How long a kept value is served as it is, and how much longer while another request is
/// already fetching its replacement.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    pub fresh_for: TimeDelta,
    pub stale_for: TimeDelta,
}

/// The value kept under `key`, or `fetch`'s (which also says when its value was fetched: a
/// value from a shared cache may be older than this request).
pub async fn get<T, E, Fut>(
    key: &str,
    now: DateTime<Utc>,
    freshness: Freshness,
    fetch: impl FnOnce() -> Fut,
) -> Result<T, E>
where
    T: Clone + 'static,
    Fut: Future<Output = Result<(T, DateTime<Utc>), E>>,
{
    if let Some(kept) = kept(key, now, freshness) {
        return Ok(kept);
    }
    let refresh = Refresh::start(key);
    let (value, fetched_at) = fetch().await?;
    refresh.finish(value.clone(), fetched_at);
    Ok(value)
}

/// A value this request may answer with, without fetching.
fn kept<T: Clone + 'static>(key: &str, now: DateTime<Utc>, freshness: Freshness) -> Option<T> {
    SLOTS.with_borrow(|slots| {
        let slot = slots.get(key)?;
        let age = now - slot.fetched_at;
        let usable = age < freshness.fresh_for
            || (slot.refreshing && age < freshness.fresh_for + freshness.stale_for);
        usable
            .then(|| slot.value.downcast_ref::<T>().cloned())
            .flatten()
    })
}

/// Marks a key as being refreshed; dropped without `finish` (the fetch failed or the request
/// was cancelled), the next request fetches again.
struct Refresh {
    key: String,
}

impl Refresh {
    fn start(key: &str) -> Self {
        SLOTS.with_borrow_mut(|slots| {
            if let Some(slot) = slots.get_mut(key) {
                slot.refreshing = true;
            }
        });
        Refresh {
            key: key.to_owned(),
        }
    }

    fn finish<T: 'static>(self, value: T, fetched_at: DateTime<Utc>) {
        SLOTS.with_borrow_mut(|slots| {
            slots.insert(
                self.key.clone(),
                Slot {
                    fetched_at,
                    value: Rc::new(value),
                    refreshing: false,
                },
            );
        });
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        SLOTS.with_borrow_mut(|slots| {
            if let Some(slot) = slots.get_mut(&self.key) {
                slot.refreshing = false;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use std::future::poll_fn;
    use std::task::Waker;

    use super::*;

    const FRESHNESS: Freshness = Freshness {
        fresh_for: TimeDelta::seconds(1),
        stale_for: TimeDelta::seconds(5),
    };

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }

    async fn answer(
        value: u32,
        at: DateTime<Utc>,
        calls: &Cell<u32>,
    ) -> Result<(u32, DateTime<Utc>), ()> {
        calls.set(calls.get() + 1);
        Ok((value, at))
    }

    #[test]
    fn a_fresh_value_is_served_without_fetching() {
        let calls = Cell::new(0);
        let key = "fresh";
        let first = now_or_never(get(key, at(0), FRESHNESS, || answer(1, at(0), &calls)));
        assert_eq!(first, Some(Ok(1)));
        let again = now_or_never(get(key, at(900), FRESHNESS, || answer(2, at(900), &calls)));
        assert_eq!(again, Some(Ok(1)), "under a second old");
        assert_eq!(calls.get(), 1);
        let later = now_or_never(get(key, at(1_100), FRESHNESS, || {
            answer(3, at(1_100), &calls)
        }));
        assert_eq!(later, Some(Ok(3)), "over a second old: fetched again");
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn while_one_request_refreshes_the_others_get_the_kept_value() {
        let calls = Cell::new(0);
        let key = "single-flight";
        now_or_never(get(key, at(0), FRESHNESS, || answer(1, at(0), &calls)))
            .unwrap()
            .unwrap();

        // The refresh waits for the core until told to go on.
        let go = Rc::new(Cell::new(false));
        let waiting = go.clone();
        let mut refreshing = Box::pin(get(key, at(1_500), FRESHNESS, move || async move {
            poll_fn(|_| {
                if waiting.get() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            Ok::<_, ()>((2, at(1_500)))
        }));
        assert!(
            now_or_never(refreshing.as_mut()).is_none(),
            "the refresh is in flight"
        );

        for ms in [1_600, 3_000, 5_900] {
            let served = now_or_never(get(key, at(ms), FRESHNESS, || answer(9, at(ms), &calls)));
            assert_eq!(served, Some(Ok(1)), "at {ms} ms the kept value is served");
        }
        assert_eq!(calls.get(), 1, "nobody else asked");
        let too_old = now_or_never(get(key, at(6_100), FRESHNESS, || {
            answer(7, at(6_100), &calls)
        }));
        assert_eq!(
            too_old,
            Some(Ok(7)),
            "beyond its staleness a request asks for itself"
        );

        go.set(true);
        assert_eq!(now_or_never(refreshing.as_mut()), Some(Ok(2)));
    }

    #[test]
    fn a_failed_or_abandoned_refresh_lets_the_next_request_fetch() {
        let calls = Cell::new(0);
        let key = "failed";
        now_or_never(get(key, at(0), FRESHNESS, || answer(1, at(0), &calls)))
            .unwrap()
            .unwrap();
        let failed = now_or_never(get(key, at(1_500), FRESHNESS, || async {
            Err::<(u32, DateTime<Utc>), _>(())
        }));
        assert_eq!(failed, Some(Err(())));
        let next = now_or_never(get(key, at(1_600), FRESHNESS, || {
            answer(2, at(1_600), &calls)
        }));
        assert_eq!(
            next,
            Some(Ok(2)),
            "the failure did not leave the key marked as refreshing"
        );

        let abandoned = get(key, at(3_000), FRESHNESS, || async {
            std::future::pending::<Result<(u32, DateTime<Utc>), ()>>().await
        });
        {
            let mut abandoned = Box::pin(abandoned);
            assert!(now_or_never(abandoned.as_mut()).is_none());
        }
        let after = now_or_never(get(key, at(3_100), FRESHNESS, || {
            answer(3, at(3_100), &calls)
        }));
        assert_eq!(
            after,
            Some(Ok(3)),
            "a cancelled refresh does not hold the others on old data"
        );
    }
}

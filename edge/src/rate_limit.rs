//! A cheap per-node limit on the checkout and waiting-room routes (seed 8.2, layer 4): a count
//! per client and second in the edge node's own memory, so a flood from one address is turned
//! away before it costs the core anything. The core's limits (per buyer, per address, across
//! every node) stay the real ones; this only sheds load early.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::http::{Method, Request};

/// Counts kept before old seconds are swept out.
const MAX_TRACKED: usize = 10_000;

static COUNTS: Mutex<Option<HashMap<String, (i64, u32)>>> = Mutex::new(None);

/// Whether the request is one the limit applies to.
pub fn applies(request: &Request) -> bool {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    matches!(
        (request.method, segments.as_slice()),
        (Method::Post, ["api", "checkout", ..])
            | (Method::Post, ["checkout", ..])
            | (Method::Post, ["api", "flash-sales", _, "queue" | "buy"])
            | (Method::Get, ["api", "flash-sales", _, "status"])
            | (Method::Post, ["sale", _, "join" | "buy"])
    )
}

/// The client as the runtime reports it (Cloudflare's `CF-Connecting-IP`, a proxy's
/// `X-Forwarded-For`). A runtime that does not say is not limited here: one bucket for every
/// buyer would be a global cap, not a per-client one.
pub fn client(request: &Request) -> Option<String> {
    request
        .header("cf-connecting-ip")
        .or_else(|| {
            request
                .header("x-forwarded-for")
                .and_then(|v| v.split(',').next())
        })
        .map(|ip| ip.trim().to_owned())
        .filter(|ip| !ip.is_empty())
}

/// Counts one request of `client` in second `now_unix`; false when it is over `limit`.
pub fn admit(client: &str, now_unix: i64, limit: u32) -> bool {
    if limit == 0 {
        return true;
    }
    let Ok(mut counts) = COUNTS.lock() else {
        // A poisoned lock only loses the limit, never the request.
        return true;
    };
    let counts = counts.get_or_insert_with(HashMap::new);
    if counts.len() >= MAX_TRACKED {
        counts.retain(|_, (second, _)| *second == now_unix);
    }
    let entry = counts.entry(client.to_owned()).or_insert((now_unix, 0));
    if entry.0 != now_unix {
        *entry = (now_unix, 0);
    }
    entry.1 += 1;
    entry.1 <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_the_limit_each_second() {
        let client = format!("test-{}", line!());
        assert!((0..3).all(|_| admit(&client, 100, 3)));
        assert!(!admit(&client, 100, 3));
        assert!(admit(&client, 101, 3), "a new second, a new count");
        assert!(admit("someone-else", 100, 3));
        assert!((0..50).all(|_| admit(&client, 102, 0)), "0 is no limit");
    }

    #[test]
    fn only_the_checkout_and_waiting_room_routes_are_limited() {
        assert!(applies(&Request::new(
            Method::Post,
            "/api/checkout/initiate"
        )));
        assert!(applies(&Request::new(
            Method::Get,
            "/api/flash-sales/7/status"
        )));
        assert!(applies(&Request::new(Method::Post, "/sale/7/join")));
        assert!(!applies(&Request::new(Method::Get, "/p/7")));
        assert!(!applies(&Request::new(Method::Get, "/api/cart")));
    }

    #[test]
    fn the_client_is_the_address_the_runtime_reports() {
        let r =
            Request::new(Method::Get, "/").with_header("x-forwarded-for", "203.0.113.9, 10.0.0.1");
        assert_eq!(client(&r).as_deref(), Some("203.0.113.9"));
        let cf = r.with_header("cf-connecting-ip", "198.51.100.4");
        assert_eq!(client(&cf).as_deref(), Some("198.51.100.4"));
        assert_eq!(client(&Request::new(Method::Get, "/")), None);
    }
}

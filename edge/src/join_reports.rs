//! The tickets this edge gave, told to the core in batches. The edge answers a join itself
//! (the place follows from the admission key, the sale, the buyer and the clock), so the core
//! learns of a join only from these reports: it counts the queue from them, to pace admission
//! and to say where a ticket stands. A report is sent in the background once it holds
//! [`BATCH`] tickets or its oldest is [`HOLD_FOR`] old (checked on every request), so a sale's
//! rush of joins costs the core a call per batch, not per buyer. A lost report delays only the
//! count: its tickets are admitted by their place all the same, and the core admits tickets it
//! never counted once it has admitted everyone it counted.

use std::cell::RefCell;

use chrono::{DateTime, TimeDelta, Utc};
use shared_model::api::flash_sales::ReportedJoins;
use shared_model::ids::FlashSaleId;

use crate::config::EdgeConfig;
use crate::host::{CoreRequest, Host};
use crate::http::Method;

/// Tickets per report, at most (the core takes up to a thousand).
pub const BATCH: usize = 200;
/// How long a ticket may wait for its report to fill.
pub const HOLD_FOR: TimeDelta = TimeDelta::milliseconds(250);

struct Pending {
    url: String,
    tickets: Vec<String>,
    since: DateTime<Utc>,
}

thread_local! {
    // One isolate's tickets not yet reported, a batch per sale (and core).
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// Adds a signed ticket of `sale` to its next report, and sends whatever is due. A runtime
/// that forgets everything after each request (Spin) reports each ticket at once.
pub fn add(host: &impl Host, config: &EdgeConfig, sale: FlashSaleId, ticket: String) {
    let url = format!("{}/api/flash-sales/{sale}/queue/joins", config.core_url);
    if !host.keeps_state_between_requests() {
        send(host, config, url, vec![ticket]);
        return;
    }
    let now = host.now();
    PENDING.with_borrow_mut(|pending| match pending.iter_mut().find(|p| p.url == url) {
        Some(batch) => batch.tickets.push(ticket),
        None => pending.push(Pending {
            url,
            tickets: vec![ticket],
            since: now,
        }),
    });
    send_due(host, config);
}

/// Sends every report that is full or has waited [`HOLD_FOR`]; nothing when none is.
pub fn send_due(host: &impl Host, config: &EdgeConfig) {
    // Every request comes here: with nothing pending, not even the clock is read (on Workers,
    // a call into JS).
    let due: Vec<Pending> = PENDING.with_borrow_mut(|pending| {
        if pending.is_empty() {
            return Vec::new();
        }
        let now = host.now();
        let (due, kept) = std::mem::take(pending)
            .into_iter()
            .partition(|p| p.tickets.len() >= BATCH || now - p.since >= HOLD_FOR);
        *pending = kept;
        due
    });
    for report in due {
        send(host, config, report.url, report.tickets);
    }
}

fn send(host: &impl Host, config: &EdgeConfig, url: String, tickets: Vec<String>) {
    let Ok(body) = serde_json::to_vec(&ReportedJoins { tickets }) else {
        return;
    };
    host.send_in_background(
        CoreRequest {
            method: Method::Post,
            url,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        },
        config.core_timeout,
    );
}

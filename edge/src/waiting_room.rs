//! The waiting room's edge half (seed 8.2, layer 1). A buyer's place is in the signed ticket the
//! edge gave them when they joined (without asking the core: the place follows from the key,
//! the sale, the buyer and the clock; the core hears of it in a batch, `join_reports`); the
//! admission cursor comes from the core at most once a second per edge node (the edge cache),
//! so a join and a status poll are answered here without a call to the core. Once the cursor
//! passes the ticket the edge signs the buyer's admission: bound to the buyer and the sale,
//! valid five minutes, and good for one checkout (the core keeps count).
//!
//! `GET /api/flash-sales/{id}/status` with the ticket in `X-Queue-Ticket` (or `?ticket=`) and
//! the buyer's token.

use chrono::{DateTime, TimeDelta, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared_model::api::error::ErrorBody;
use shared_model::api::flash_sales::{FlashSaleView, QueueJoined};
use shared_model::flash_sale::{AdmissionCursor, AdmissionKey, AdmissionToken, QueueTicket};
use shared_model::ids::{FlashSaleId, UserId};

use crate::cart::owner;
use crate::catalog::cache::{self, Cached, Policy};
use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::forward;
use crate::host::Host;
use crate::http::{Request, Response};
use crate::join_reports;
use crate::memo::{self, Freshness};

/// The cursor is asked of the core at most this often per edge node.
const CURSOR: Policy = Policy {
    fresh_for: TimeDelta::seconds(1),
    keep_for: std::time::Duration::from_secs(30),
};
/// How much older than its freshness a kept value may be served while another request is
/// fetching its replacement. Long, because the refresh is slowest when the edge is busiest:
/// with 2 s, an overloaded isolate's refresh outlived the kept cursor and then every poll
/// fetched its own (11,634 cursor requests for 25,836 polls in one sale). A kept cursor only
/// lags behind the core's, and the core checks every checkout again.
const STALE_FOR: TimeDelta = TimeDelta::seconds(10);
/// The sale's public state (name, price, units left) for the waiting-room page.
const SALE: Policy = Policy {
    fresh_for: TimeDelta::seconds(2),
    keep_for: std::time::Duration::from_secs(60),
};
/// The header a client sends its ticket in.
pub const TICKET_HEADER: &str = "x-queue-ticket";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueState {
    /// The sale has not started; the lottery among early joiners is drawn at the start.
    NotStarted,
    Waiting,
    /// Go and buy: `admissionToken` is the way in.
    Admitted,
    /// Every unit is held; the queue moves again if one comes back.
    SoldOut,
    /// Cancelled or over.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    pub flash_sale_id: FlashSaleId,
    pub state: QueueState,
    /// Buyers ahead, this one included (estimated for early joiners; before the start, among
    /// those who joined so far). Absent once the sale is closed.
    pub position: Option<u64>,
    /// Seconds until this buyer's turn may come, counted from when the queue moves (the start,
    /// or a held unit's return). Absent once the sale is closed.
    pub estimated_wait_seconds: Option<u64>,
    /// When to ask again, in seconds ([`refresh_after_seconds`]; the waiting page refreshes
    /// itself then). Absent once admitted or closed: nothing more to wait for.
    pub refresh_after_seconds: Option<u64>,
    pub starts_at: DateTime<Utc>,
    pub admission_token: Option<String>,
    pub admission_expires_at: Option<i64>,
}

/// Where a ticket stands, from the cached cursor.
pub async fn status(
    host: &impl Host,
    config: &EdgeConfig,
    sale: FlashSaleId,
    ticket: &str,
    user: UserId,
) -> Result<QueueStatus, EdgeError> {
    let key = config
        .admission_key
        .as_ref()
        .ok_or_else(|| EdgeError::Config("ADMISSION_KEY is not set".into()))?;
    let ticket: QueueTicket = key.verify_ticket(ticket, sale, user).map_err(|e| match e {
        shared_model::ModelError::Token(reason) => EdgeError::BadTicket(reason),
        _ => EdgeError::BadTicket("malformed"),
    })?;
    let cursor = cursor(host, config, sale).await?.value;
    standing(key, &cursor, &ticket, host.now())
}

/// Where a verified ticket stands by `cursor` at `clock`, with its admission once admitted.
fn standing(
    key: &AdmissionKey,
    cursor: &AdmissionCursor,
    ticket: &QueueTicket,
    clock: DateTime<Utc>,
) -> Result<QueueStatus, EdgeError> {
    let now = clock.timestamp();
    let state = if cursor.closed {
        QueueState::Closed
    } else if !cursor.started {
        QueueState::NotStarted
    } else if cursor.admits(ticket) {
        QueueState::Admitted
    } else if cursor.sold_out {
        QueueState::SoldOut
    } else {
        QueueState::Waiting
    };
    let admission =
        (state == QueueState::Admitted).then(|| AdmissionToken::for_ticket(ticket, now));
    let admission_token = admission
        .as_ref()
        .map(|a| key.sign_admission(a))
        .transpose()
        .map_err(EdgeError::from)?;
    // Counted from when the queue moves again (the start, or a held unit's return), so
    // buyers (and the page) need not ask before then.
    let estimated_wait_seconds = cursor.estimated_wait_seconds(ticket, clock);
    Ok(QueueStatus {
        flash_sale_id: cursor.flash_sale_id,
        state,
        position: (!cursor.closed).then(|| cursor.ahead_of(ticket)),
        estimated_wait_seconds,
        refresh_after_seconds: refresh_after_seconds(state, estimated_wait_seconds),
        starts_at: cursor.starts_at,
        admission_token,
        admission_expires_at: admission.map(|a| a.expires_at),
    })
}

/// When a buyer in `state` should ask again, for an estimated wait of `estimated_wait`
/// seconds: one rule for the waiting page's refresh and for clients of the JSON API.
pub fn refresh_after_seconds(state: QueueState, estimated_wait: Option<u64>) -> Option<u64> {
    match state {
        // Half the wait, so a buyer far back does not ask every few seconds for nothing (a
        // sale's first minutes have most of its buyers waiting, the more so when checkouts
        // pace the queue, and every refresh is a request); at most every two minutes, and no
        // more often than every two seconds near the turn. Four fifths of the wait (and the
        // same before the start, without the 30 s bound below), with the load tool following
        // it before the start too, sold slower in two paired whole sales: 167-174 s to sell out
        // against 154-162 s (probably as early joiners' polls moved into the selling).
        QueueState::Waiting => Some((estimated_wait.unwrap_or(0) / 2).clamp(2, 120)),
        // Sold out for now, or not started: the wait counts from when the queue moves again (a
        // held unit's return, the start); no sooner, and at least every 30 s, as later joiners
        // may push an early joiner's turn back.
        QueueState::SoldOut | QueueState::NotStarted => {
            Some(estimated_wait.unwrap_or(10).clamp(2, 30))
        }
        QueueState::Admitted | QueueState::Closed => None,
    }
}

/// How old a kept cursor may be for the edge to tell a checkout "sold out" in the core's stead:
/// a unit a declined payment gave back shows in the next cursor, so a buyer is turned away
/// from a free unit for at most this long.
const SOLD_OUT_CURSOR_AGE: TimeDelta = TimeDelta::seconds(2);

/// The core's "sold out" answer to an admitted buyer's checkout, given here while a cursor
/// fetched in the last [`SOLD_OUT_CURSOR_AGE`] says no purchase token is free: once a sale is
/// sold out, admitted buyers outnumber its units many times over, and each of their checkouts
/// would otherwise cost the core its reads and idempotency writes to learn the same. `None`
/// sends the checkout on: an admission this edge cannot verify (the core says why), a free
/// token, an old cursor, or a held unit already due back. A buyer who already used the
/// admission or bought their limit hears "sold out" here rather than that: with no token free,
/// either way there is nothing for them to buy.
pub async fn sold_out_answer(
    host: &impl Host,
    config: &EdgeConfig,
    sale: FlashSaleId,
    admission: &str,
    user: UserId,
) -> Option<Response> {
    let key = config.admission_key.as_ref()?;
    let now = host.now();
    // The kept cursor first: while a token is free (most of a sale) the core checks the
    // admission anyway, so it is verified here only when the edge is about to answer.
    let cursor = cursor(host, config, sale).await.ok()?;
    if cursor.stale || now - cursor.fetched_at > SOLD_OUT_CURSOR_AGE {
        return None;
    }
    let sold_out = cursor.value.sold_out_answer(user, now)?;
    key.verify_admission(admission, sale, user, now.timestamp())
        .ok()?;
    Some(Response::json(409, &sold_out.error_body()))
}

/// The admission cursor: kept in the isolate and, behind that, in the edge cache, for a
/// second. Every status poll needs it, so polls cost neither the core nor the edge cache a
/// call; while one poll refreshes it, the others are answered with the kept one (at most
/// [`STALE_FOR`] older).
pub async fn cursor(
    host: &impl Host,
    config: &EdgeConfig,
    sale: FlashSaleId,
) -> Result<Cached<AdmissionCursor>, EdgeError> {
    kept(
        host,
        config,
        sale,
        &format!("flash-sale-cursor:{sale}"),
        &format!("/api/flash-sales/{sale}/admission"),
        CURSOR,
    )
    .await
}

/// The sale's public state, kept like the cursor for two seconds.
pub async fn sale(
    host: &impl Host,
    config: &EdgeConfig,
    sale: FlashSaleId,
) -> Result<FlashSaleView, EdgeError> {
    Ok(kept(
        host,
        config,
        sale,
        &format!("flash-sale:{sale}"),
        &format!("/api/flash-sales/{sale}"),
        SALE,
    )
    .await?
    .value)
}

/// The core's `path` about `sale`, kept in the isolate, then in the edge cache under `key`.
async fn kept<T: Serialize + DeserializeOwned + Clone + 'static>(
    host: &impl Host,
    config: &EdgeConfig,
    sale: FlashSaleId,
    key: &str,
    path: &str,
    policy: Policy,
) -> Result<Cached<T>, EdgeError> {
    let freshness = Freshness {
        fresh_for: policy.fresh_for,
        stale_for: STALE_FOR,
    };
    memo::get(
        &format!("{}|{key}", config.core_url),
        host.now(),
        freshness,
        || async {
            let cached = cache::get(host, config, key, path, policy)
                .await?
                .ok_or_else(|| EdgeError::NotFound(format!("flash sale {sale}")))?;
            let fetched_at = cached.fetched_at;
            Ok((cached, fetched_at))
        },
    )
    .await
}

/// A join's answer: the ticket, and where it stands (`status`, as a poll would answer), so a
/// buyer who is admitted at once, or is told when to come back, needs no first poll.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinedQueue {
    #[serde(flatten)]
    pub joined: QueueJoined,
    pub status: QueueStatus,
}

/// `POST /api/flash-sales/{id}/queue`: the edge gives the signed ticket itself
/// ([`give_ticket`]). Without an admission key the core gives it.
pub async fn join_json(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    sale: &str,
) -> Result<Response, EdgeError> {
    let sale = FlashSaleId::parse(sale)?;
    let Some(key) = config.admission_key.as_ref() else {
        return forward::to_core(host, config, request).await;
    };
    let claims = owner::buyer(host, request, config)
        .await?
        .ok_or(EdgeError::Unauthenticated)?;
    match give_ticket(host, config, key, sale, claims.sub).await? {
        Some(joined) => {
            Ok(Response::json(200, &joined).with_header("cache-control", "private, no-store"))
        }
        None => Ok(Response::json(
            409,
            &ErrorBody::new("sale_closed", SALE_CLOSED),
        )),
    }
}

const SALE_CLOSED: &str = "the sale is cancelled or over";

/// A ticket for `user`, signed here from the key and the cached cursor (for the start, and
/// whether the sale is closed), with where it stands; the core hears of it in the next
/// report. `None` once the sale is closed. A buyer who joins again (another device, a retry,
/// the page after the API) gets the same lottery number or a later arrival, never a better
/// place. The JSON API and the waiting page both join here, so neither costs the core a call.
pub async fn give_ticket(
    host: &impl Host,
    config: &EdgeConfig,
    key: &AdmissionKey,
    sale: FlashSaleId,
    user: UserId,
) -> Result<Option<JoinedQueue>, EdgeError> {
    let cursor = cursor(host, config, sale).await?.value;
    if cursor.closed {
        return Ok(None);
    }
    let clock = host.now();
    let ticket = QueueTicket::joined(key, sale, user, clock, cursor.starts_at);
    let signed = key.sign_ticket(&ticket).map_err(EdgeError::from)?;
    let status = standing(key, &cursor, &ticket, clock)?;
    join_reports::add(host, config, sale, signed.clone());
    Ok(Some(JoinedQueue {
        joined: QueueJoined {
            ticket: signed,
            place: ticket.place,
            starts_at: cursor.starts_at,
        },
        status,
    }))
}

/// The page's answer to joining a closed sale, as the core's 409 becomes one.
pub fn sale_closed() -> EdgeError {
    EdgeError::invalid("request", SALE_CLOSED)
}

/// `GET /api/flash-sales/{id}/status`.
pub async fn status_json(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    sale: &str,
) -> Result<Response, EdgeError> {
    let sale = FlashSaleId::parse(sale)?;
    let claims = owner::buyer(host, request, config)
        .await?
        .ok_or(EdgeError::Unauthenticated)?;
    let from_query = request
        .query_pairs()
        .into_iter()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v);
    let ticket = request
        .header(TICKET_HEADER)
        .map(str::to_owned)
        .or(from_query)
        .ok_or_else(|| EdgeError::invalid("ticket", "send the queue ticket in X-Queue-Ticket"))?;
    let status = status(host, config, sale, &ticket, claims.sub).await?;
    Ok(Response::json(200, &status).with_header("cache-control", "private, no-store"))
}

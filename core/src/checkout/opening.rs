//! Group commit for pay requests' first step. A pay request starts by recording its attempt
//! (the saga locked, the payment row, PROCESS_PAYMENT started) before the gateway is asked;
//! concurrent requests are opened together in one statement (see `group_commit`), so a busy
//! sale pays one round trip and one commit per batch instead of per buyer.
//!
//! A batch is all or nothing. One that fails (a unique violation when an attempt of the same
//! checkout raced it, or any error) is handed back, and each caller opens its own attempt
//! alone, so one checkout's trouble is never another's answer. A checkout asked for twice in
//! one batch is handed back the second time.

use std::collections::{HashMap, HashSet};

use shared_model::ids::CheckoutId;
use sqlx::{Connection, PgConnection, PgPool};

use super::store::{self, OpenedPayment, PayRequestFor};
use crate::error::ApiError;
use crate::group_commit::{BEGIN_KEYED, GroupCommit, Handled};

/// The attempt opened, or `None` for "not the common case" (take the careful path).
type Opening = Option<OpenedPayment>;

#[derive(Clone)]
pub struct Opener {
    db: PgPool,
    batches: GroupCommit<PayRequestFor, Opening>,
}

impl Opener {
    /// Starts the task; it stops when every handle is dropped.
    pub fn spawn(db: PgPool) -> Self {
        let batches = GroupCommit::spawn("checkout_open", db.clone(), |conn, batch| {
            Box::pin(open_together(conn, batch))
        });
        Opener { db, batches }
    }

    /// Opens this request's attempt, with others when others are waiting; `None` means "not
    /// the common case" (see [`store::open_first_payments`]).
    pub async fn open(&self, request: PayRequestFor) -> Result<Opening, ApiError> {
        match self.batches.submit(request).await? {
            Handled::Written(opening) => Ok(opening),
            Handled::Alone(request) => {
                let mut conn = self.db.acquire().await?;
                store::open_first_payment(&mut conn, &request).await
            }
        }
    }
}

async fn open_together(
    conn: &mut PgConnection,
    batch: Vec<PayRequestFor>,
) -> Vec<Handled<PayRequestFor, Opening>> {
    let mut seen = HashSet::new();
    let first: Vec<bool> = batch.iter().map(|r| seen.insert(r.checkout)).collect();
    let unique: Vec<&PayRequestFor> = batch
        .iter()
        .zip(&first)
        .filter_map(|(request, &first)| first.then_some(request))
        .collect();
    let opened = async {
        let mut tx = conn.begin_with(BEGIN_KEYED).await?;
        let opened = store::open_first_payments(&mut tx, &unique).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(opened)
    }
    .await;
    let mut opened: Option<HashMap<CheckoutId, OpenedPayment>> = match opened {
        Ok(opened) => Some(
            opened
                .into_iter()
                .map(|opened| (opened.record.checkout(), opened))
                .collect(),
        ),
        Err(err) => {
            tracing::debug!(error = %err, requests = unique.len(),
                "opening payment attempts together failed; opening each alone");
            None
        }
    };
    batch
        .into_iter()
        .zip(first)
        .map(|(request, first)| match (&mut opened, first) {
            (Some(opened), true) => Handled::Written(opened.remove(&request.checkout)),
            _ => Handled::Alone(request),
        })
        .collect()
}

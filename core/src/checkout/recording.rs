//! Group commit for new checkouts. Every initiate ends in the same statement: the PENDING
//! order, its saga and its first events. Concurrent checkouts are written together in one
//! multi-row statement (see `group_commit`), so a busy sale pays one round trip, one commit
//! and one set-up of each table's constraints and triggers per batch instead of per buyer.
//!
//! Flash-sale checkouts are written in the same batches, with their purchase-token claims in
//! the batch's transaction (a claim and its checkout stand or fall together); in a sale they
//! are nearly every checkout, and each used to commit alone.
//!
//! A batch is all or nothing; one that fails is handed back, and each caller writes its own
//! checkout alone, so one checkout's failure (a token Redis had lost track of, a buyer over
//! the limit) is its own answer and never another's.

use std::collections::HashMap;

use shared_model::ids::{OrderId, SagaId};
use sqlx::{Connection, PgConnection, PgPool};

use super::store::{self, NewCheckout};
use crate::error::ApiError;
use crate::flash_sales::{purchase, store as claims};
use crate::group_commit::{GroupCommit, Handled};

#[derive(Clone)]
pub struct Recorder {
    db: PgPool,
    batches: GroupCommit<NewCheckout, OrderId>,
}

impl Recorder {
    /// Starts the task; it stops when every handle is dropped.
    pub fn spawn(db: PgPool) -> Self {
        let batches = GroupCommit::spawn("checkout_record", db.clone(), |conn, batch| {
            Box::pin(record_together(conn, batch))
        });
        Recorder { db, batches }
    }

    /// Records a checkout whose stock is reserved, with others when others are waiting;
    /// answers its order.
    pub async fn record(&self, checkout: NewCheckout) -> Result<OrderId, ApiError> {
        match self.batches.submit(checkout).await? {
            Handled::Written(order) => Ok(order),
            Handled::Alone(checkout) => self.record_alone(&checkout).await,
        }
    }

    async fn record_alone(&self, checkout: &NewCheckout) -> Result<OrderId, ApiError> {
        let Some(claim) = &checkout.claim else {
            return store::record_one(&self.db, checkout).await;
        };
        let mut tx = self.db.begin().await?;
        claims::record_claims(&mut tx, &[claim])
            .await
            .map_err(|e| purchase::refused(e, claim.per_buyer_limit))?;
        let order = store::record_one(&mut *tx, checkout).await?;
        tx.commit().await?;
        Ok(order)
    }
}

async fn record_together(
    conn: &mut PgConnection,
    batch: Vec<NewCheckout>,
) -> Vec<Handled<NewCheckout, OrderId>> {
    let written: HashMap<SagaId, OrderId> = match write(conn, &batch).await {
        Ok(created) => created.into_iter().collect(),
        Err(err) => {
            tracing::warn!(error = %err, checkouts = batch.len(),
                "recording new checkouts together failed; writing each alone");
            HashMap::new()
        }
    };
    batch
        .into_iter()
        .map(|checkout| match written.get(&checkout.saga.saga) {
            Some(order) => Handled::Written(*order),
            None => Handled::Alone(checkout),
        })
        .collect()
}

/// The batch in one statement, or with claims in one transaction of three.
async fn write(
    conn: &mut PgConnection,
    batch: &[NewCheckout],
) -> Result<Vec<(SagaId, OrderId)>, ApiError> {
    let checkouts: Vec<&NewCheckout> = batch.iter().collect();
    let claimed: Vec<&claims::ClaimRecord> =
        batch.iter().filter_map(|c| c.claim.as_ref()).collect();
    if claimed.is_empty() {
        return store::record_new(conn, &checkouts).await;
    }
    let mut tx = conn.begin().await?;
    claims::record_claims(&mut tx, &claimed)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let created = store::record_new(&mut *tx, &checkouts).await?;
    tx.commit().await?;
    Ok(created)
}

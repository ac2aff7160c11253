//! Group commit for new checkouts. Every initiate ends in the same statement: the PENDING
//! order, its saga and its first events. Concurrent checkouts are written together in one
//! multi-row statement (see `group_commit`), so a busy sale pays one round trip, one commit
//! and one set-up of each table's constraints and triggers per batch instead of per buyer.
//!
//! A batch is all or nothing; one that fails is handed back, and each caller writes its own
//! checkout alone, so one checkout's failure is its own answer and never another's.

use std::collections::HashMap;

use shared_model::ids::{OrderId, SagaId};
use sqlx::{PgConnection, PgPool};

use super::store::{self, NewCheckout};
use crate::error::ApiError;
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
            Handled::Alone(checkout) => store::record_one(&self.db, &checkout).await,
        }
    }
}

async fn record_together(
    conn: &mut PgConnection,
    batch: Vec<NewCheckout>,
) -> Vec<Handled<NewCheckout, OrderId>> {
    let checkouts: Vec<&NewCheckout> = batch.iter().collect();
    let written: HashMap<SagaId, OrderId> = match store::record_new(conn, &checkouts).await {
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

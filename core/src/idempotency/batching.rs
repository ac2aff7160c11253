//! Group commit for idempotency keys. Every unsafe POST claims its key before it runs and
//! stores its response after: two statements of its own per request, as many as the rest of a
//! checkout's writes together once those were batched. Concurrent requests now hand theirs to
//! one task each (see `group_commit`), which claims or completes all waiting keys in one
//! statement.
//!
//! Only the plain case is batched: a new key claimed, a claimed key completed. A key already
//! in use, a key twice in one batch, or a batch that fails is handed back, and its caller takes
//! the one-key path in `store`, which tells a replay from a mismatch from a request in flight.
//!
//! Both statements are handed their keys in one order (scope, then key) and lock them in it
//! (the insert in its input order, the update by a nested loop over its input), so a claim
//! batch meeting retries of keys a completion batch is storing cannot wait on it in a cycle.
//! Were a plan ever to differ, PostgreSQL would abort one batch and its keys be taken alone.

use std::collections::HashSet;

use sqlx::{Connection, PgConnection, PgPool};

use super::store::{self, Claim, KeyOf, StoredResponse};
use crate::error::ApiError;
use crate::group_commit::{BEGIN_KEYED, GroupCommit, Handled};

/// A key to claim for a request with this hash.
pub struct ToClaim {
    key: KeyOf,
    request_hash: String,
}

/// A claimed key and the response to remember.
pub struct ToComplete {
    key: KeyOf,
    response: StoredResponse,
}

#[derive(Clone)]
pub struct IdempotencyKeys {
    db: PgPool,
    claims: GroupCommit<ToClaim, ()>,
    completions: GroupCommit<ToComplete, ()>,
}

impl IdempotencyKeys {
    /// Starts the two tasks; they stop when every handle is dropped.
    pub fn spawn(db: PgPool) -> Self {
        let claims = GroupCommit::spawn("idempotency_claim", db.clone(), |conn, batch| {
            Box::pin(claim_together(conn, batch))
        });
        let completions = GroupCommit::spawn("idempotency_complete", db.clone(), |conn, batch| {
            Box::pin(complete_together(conn, batch))
        });
        IdempotencyKeys {
            db,
            claims,
            completions,
        }
    }

    /// Claims `key` for a request, or tells why the request must not run.
    pub async fn claim(&self, key: KeyOf, request_hash: String) -> Result<Claim, ApiError> {
        match self.claims.submit(ToClaim { key, request_hash }).await? {
            Handled::Written(()) => Ok(Claim::Proceed),
            Handled::Alone(ToClaim { key, request_hash }) => {
                Ok(store::claim(&self.db, &key.scope, &key.key, &request_hash).await?)
            }
        }
    }

    /// Remembers the response of a request that claimed `key`.
    pub async fn complete(&self, key: KeyOf, response: StoredResponse) -> Result<(), ApiError> {
        match self
            .completions
            .submit(ToComplete { key, response })
            .await?
        {
            Handled::Written(()) => Ok(()),
            Handled::Alone(ToComplete { key, response }) => {
                Ok(store::complete(&self.db, &key.scope, &key.key, &response).await?)
            }
        }
    }
}

async fn claim_together(conn: &mut PgConnection, batch: Vec<ToClaim>) -> Vec<Handled<ToClaim, ()>> {
    let firsts = first_of_each_key(&batch, |c| &c.key);
    let mut claims: Vec<(&KeyOf, &str)> = batch
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| **first)
        .map(|(c, _)| (&c.key, c.request_hash.as_str()))
        .collect();
    claims.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let claimed = match store::claim_new(conn, &claims).await {
        Ok(claimed) => claimed.into_iter().collect(),
        Err(err) => {
            tracing::warn!(error = %err, keys = claims.len(),
                "claiming idempotency keys together failed; claiming each alone");
            HashSet::new()
        }
    };
    answer(batch, &firsts, &claimed, |c| &c.key)
}

async fn complete_together(
    conn: &mut PgConnection,
    batch: Vec<ToComplete>,
) -> Vec<Handled<ToComplete, ()>> {
    let firsts = first_of_each_key(&batch, |c| &c.key);
    let mut completed: Vec<(&KeyOf, &StoredResponse)> = batch
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| **first)
        .map(|(c, _)| (&c.key, &c.response))
        .collect();
    completed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let stored = async {
        // One key, the usual batch while requests are few: its own statement finds it by the
        // primary key, with no transaction around it (two round trips fewer).
        if let [(key, response)] = completed.as_slice() {
            let done = store::complete_one(&mut *conn, key, response).await?;
            return Ok(done.then(|| (*key).clone()).into_iter().collect());
        }
        // Several in a keyed transaction: planned on an empty shop, the update would
        // otherwise scan every key stored (a day of them) for the few it stores.
        let mut tx = conn.begin_with(BEGIN_KEYED).await?;
        let done = store::complete_many(&mut *tx, &completed).await?;
        tx.commit().await?;
        Ok::<Vec<KeyOf>, sqlx::Error>(done)
    };
    let done = match stored.await {
        Ok(done) => done.into_iter().collect(),
        Err(err) => {
            tracing::warn!(error = %err, keys = completed.len(),
                "storing idempotent responses together failed; storing each alone");
            HashSet::new()
        }
    };
    answer(batch, &firsts, &done, |c| &c.key)
}

/// For each request of a batch, whether it is the first with its key: one statement may not
/// claim or complete a key twice, so later ones are handed back.
fn first_of_each_key<Q>(batch: &[Q], key: impl Fn(&Q) -> &KeyOf) -> Vec<bool> {
    let mut seen = HashSet::with_capacity(batch.len());
    batch.iter().map(|q| seen.insert(key(q))).collect()
}

/// Written for the first request of each key the statement answered for; the rest alone.
fn answer<Q>(
    batch: Vec<Q>,
    firsts: &[bool],
    written: &HashSet<KeyOf>,
    key: impl Fn(&Q) -> &KeyOf,
) -> Vec<Handled<Q, ()>> {
    batch
        .into_iter()
        .zip(firsts)
        .map(|(q, first)| {
            if *first && written.contains(key(&q)) {
                Handled::Written(())
            } else {
                Handled::Alone(q)
            }
        })
        .collect()
}

//! The saga's own record (`saga_state`, `saga_step_log`): written as each step starts and ends,
//! so the recovery job can tell where a saga stopped and continue or compensate from there.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared_model::ids::{CheckoutId, SagaId, UserId};
use shared_model::order::{SagaStatus, SagaStep, SagaStepStatus};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::error::ApiError;

pub async fn log_step(
    conn: &mut PgConnection,
    saga: SagaId,
    step: SagaStep,
    status: SagaStepStatus,
    data: Value,
) -> Result<(), ApiError> {
    sqlx::query("INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data) VALUES ($1, $2, $3, $4)")
        .bind(saga.0)
        .bind(step.as_str())
        .bind(status.as_str())
        .bind(data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// A step's state change and its log line go together in one statement (one round trip): a
// checkout writes eight of them.
const START_STEP: &str = "
    WITH saga AS (
        UPDATE saga_state SET status = 'IN_PROGRESS', current_step = $2, updated_at = now()
         WHERE saga_id = $1
    )
    INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data) VALUES ($1, $2, $3, $4)";

const COMPLETE_STEP: &str = "
    WITH saga AS (
        UPDATE saga_state
           SET current_step = $2, updated_at = now(),
               completed_steps = CASE WHEN completed_steps ? $2 THEN completed_steps
                                      ELSE completed_steps || to_jsonb($2::text) END
         WHERE saga_id = $1
    )
    INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data) VALUES ($1, $2, $3, $4)";

/// Marks a step started: the saga is in progress at this step.
pub async fn start_step(
    conn: &mut PgConnection,
    saga: SagaId,
    step: SagaStep,
    data: Value,
) -> Result<(), ApiError> {
    sqlx::query(START_STEP)
        .bind(saga.0)
        .bind(step.as_str())
        .bind(SagaStepStatus::Started.as_str())
        .bind(data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a step completed (once, however often it is retried).
pub async fn complete_step(
    conn: &mut PgConnection,
    saga: SagaId,
    step: SagaStep,
    data: Value,
) -> Result<(), ApiError> {
    sqlx::query(COMPLETE_STEP)
        .bind(saga.0)
        .bind(step.as_str())
        .bind(SagaStepStatus::Completed.as_str())
        .bind(data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn fail_step(
    conn: &mut PgConnection,
    saga: SagaId,
    step: SagaStep,
    data: Value,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE saga_state SET updated_at = now() WHERE saga_id = $1")
        .bind(saga.0)
        .execute(&mut *conn)
        .await?;
    log_step(conn, saga, step, SagaStepStatus::Failed, data).await
}

pub async fn set_status(
    conn: &mut PgConnection,
    saga: SagaId,
    status: SagaStatus,
    error: Option<&str>,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE saga_state SET status = $2, error_message = COALESCE($3, error_message), updated_at = now()
          WHERE saga_id = $1",
    )
    .bind(saga.0)
    .bind(status.as_str())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// One line of a saga's step log.
pub struct LogLine {
    pub saga: SagaId,
    pub step: SagaStep,
    pub status: SagaStepStatus,
    pub data: Value,
}

/// Ends many sagas at once: writes their log lines (in the given order) and marks each saga
/// COMPLETED at `last_step` with `steps` added to its completed steps. Two statements however
/// many sagas.
pub async fn complete_many(
    conn: &mut PgConnection,
    sagas: &[SagaId],
    steps: &[SagaStep],
    last_step: SagaStep,
    lines: &[LogLine],
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data)
         SELECT l.saga_id, l.step_name, l.step_status, l.step_data
           FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::jsonb[])
                WITH ORDINALITY AS l (saga_id, step_name, step_status, step_data, n)
          ORDER BY l.n",
    )
    .bind(lines.iter().map(|l| l.saga.0).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.step.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.status.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| &l.data).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE saga_state
            SET status = 'COMPLETED', current_step = $2, updated_at = now(),
                completed_steps = completed_steps
                    || (SELECT COALESCE(jsonb_agg(step), '[]'::jsonb) FROM UNNEST($3::text[]) AS step
                         WHERE NOT completed_steps ? step)
          WHERE saga_id = ANY($1)",
    )
    .bind(sagas.iter().map(|s| s.0).collect::<Vec<_>>())
    .bind(last_step.as_str())
    .bind(steps.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A checkout's saga as it starts.
pub struct NewSaga {
    pub saga: SagaId,
    pub checkout: CheckoutId,
    pub user: UserId,
    pub payload: Value,
    pub expires_at: DateTime<Utc>,
    /// What RESERVE_INVENTORY holds, for its step log.
    pub reserved: Value,
}

/// Records checkout sagas whose first step, RESERVE_INVENTORY, is done (the stock is held
/// before the saga is written): each saga and the step's two log lines, as the CTEs `saga` and
/// `saga_log` for the caller's `WITH`. Each saga's order comes from the CTE `created`
/// (`order_id`, `saga_id`), which the same statement fills.
pub fn push_begin_reserved<'a>(q: &mut QueryBuilder<'a, Postgres>, sagas: &[&'a NewSaga]) {
    let step = SagaStep::ReserveInventory.as_str();
    q.push(
        "saga AS (
            INSERT INTO saga_state (saga_id, saga_type, status, current_step, completed_steps, order_id,
                                    checkout_id, user_id, payload, expires_at)
            SELECT s.saga_id, 'CHECKOUT', 'IN_PROGRESS', ",
    )
    .push_bind(step)
    .push(", jsonb_build_array(")
    .push_bind(step)
    .push("::text), created.order_id, s.checkout_id, s.user_id, s.payload, s.expires_at FROM UNNEST(")
    .push_bind(sagas.iter().map(|s| s.saga.0).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(sagas.iter().map(|s| s.checkout.0).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(sagas.iter().map(|s| s.user.get()).collect::<Vec<_>>())
    .push("::bigint[], ")
    .push_bind(sagas.iter().map(|&s| &s.payload).collect::<Vec<_>>())
    .push("::jsonb[], ")
    .push_bind(sagas.iter().map(|s| s.expires_at).collect::<Vec<_>>())
    .push(
        "::timestamptz[]) AS s (saga_id, checkout_id, user_id, payload, expires_at)
              JOIN created ON created.saga_id = s.saga_id
         ), saga_log AS (
            INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data)
            SELECT s.saga_id, ",
    )
    .push_bind(step)
    .push(
        ", l.status, l.data
              FROM UNNEST(",
    )
    .push_bind(sagas.iter().map(|s| s.saga.0).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(sagas.iter().map(|&s| &s.reserved).collect::<Vec<_>>())
    .push(
        "::jsonb[]) WITH ORDINALITY AS s (saga_id, reserved, n)
             CROSS JOIN LATERAL (VALUES (1, ",
    )
    .push_bind(SagaStepStatus::Started.as_str())
    .push(", '{}'::jsonb), (2, ")
    .push_bind(SagaStepStatus::Completed.as_str())
    .push(
        ", s.reserved)) AS l (k, status, data)
             ORDER BY s.n, l.k\n         )",
    );
}

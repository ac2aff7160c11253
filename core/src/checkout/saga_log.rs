//! The saga's own record (`saga_state`, `saga_step_log`): written as each step starts and ends,
//! so the recovery job can tell where a saga stopped and continue or compensate from there.

use serde_json::Value;
use shared_model::ids::SagaId;
use shared_model::order::{SagaStatus, SagaStep, SagaStepStatus};
use sqlx::PgConnection;

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

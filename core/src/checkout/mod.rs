//! Checkout: from a cart's lines to a paid, confirmed order, as an orchestrated saga
//! (RESERVE_INVENTORY → PROCESS_PAYMENT → CREATE_ORDER → CONFIRM_INVENTORY, compensated in
//! reverse). The saga's state is in `saga_state` and `saga_step_log`; its events leave through
//! the outbox in the same transactions as the changes they describe.

pub mod completion;
pub mod initiate;
pub mod jobs;
pub mod lines;
pub mod opening;
pub mod pay;
pub mod progress;
pub mod recording;
pub mod routes;
pub mod saga_log;
pub mod store;
pub mod view;

use shared_model::ids::CheckoutId;
use shared_model::order::SagaStep;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}

/// Crash-test hook: dies right after `step` committed when `EDGESHOP_FAULT_CRASH_AFTER` names
/// it, so tests can prove the recovery job finishes or undoes every saga a crash interrupts.
pub fn crash_point(state: &AppState, step: SagaStep) {
    if state.config.fault_crash_after.as_deref() == Some(step.as_str()) {
        eprintln!(
            "edgeshop-core: crash-test hook: aborting after {}",
            step.as_str()
        );
        std::process::abort();
    }
}

/// A new checkout's id. Time-ordered (UUIDv7), as its saga's is then too
/// ([`shared_model::ids::SagaId::for_checkout`]): the rows of a sale's checkouts and sagas are
/// appended to the indexes keyed by them instead of scattered through them, which cost the
/// reservation write a fifth of its database time.
pub fn new_checkout_id() -> CheckoutId {
    CheckoutId(uuid::Uuid::now_v7())
}

//! How instances are made, reused and retired. One instance serves up to 16 requests at once
//! and 128 in all; after answering it stays alive for the component's background work (cart
//! snapshots) for up to [`AFTER_ANSWER`], and is dropped after [`IDLE`] without requests.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::GuestTaskId;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};

use crate::keyvalue::RedisStore;
use crate::state::HostState;

const MAX_CONCURRENT: usize = 16;
const MAX_TOTAL: usize = 128;
/// A request still unanswered after this is abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Background work after the last answer gets this long.
const AFTER_ANSWER: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(10);

pub struct EdgeWorkers {
    engine: Engine,
    pre: ProxyPre<HostState>,
    store: RedisStore,
    variables: Arc<HashMap<String, String>>,
}

impl EdgeWorkers {
    pub fn new(
        engine: Engine,
        pre: ProxyPre<HostState>,
        store: RedisStore,
        variables: Arc<HashMap<String, String>>,
    ) -> Self {
        EdgeWorkers {
            engine,
            pre,
            store,
            variables,
        }
    }
}

impl HandlerState for EdgeWorkers {
    type StoreData = HostState;
    type WorkerExpiration = Expiry;
    type WorkerState = Reuse;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, Expiry, Reuse>> {
        let mut store = Store::new(
            &self.engine,
            HostState::new(self.store.clone(), self.variables.clone()),
        );
        let proxy = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance {
            store,
            proxy,
            view: <HostState as WasiHttpView>::http,
            expiration: Expiry {
                sleep: Box::pin(tokio::time::sleep(Duration::MAX)),
            },
            state: Reuse,
        })
    }
}

/// Fires when the instance has been in its current status for too long.
pub struct Expiry {
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiry {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        since: Instant,
    ) -> Poll<()> {
        let limit = match status {
            WorkerStatus::Idle => IDLE,
            WorkerStatus::Requests => REQUEST_TIMEOUT,
            WorkerStatus::PostReturn => AFTER_ANSWER,
        };
        let Some(deadline) = since.checked_add(limit) else {
            return Poll::Pending;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx)
    }
}

pub struct Reuse;

impl WorkerState for Reuse {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= MAX_TOTAL {
            ShouldAccept::Never
        } else if concurrent >= MAX_CONCURRENT {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, HostState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        Box::pin(tokio::time::sleep(REQUEST_TIMEOUT))
    }

    fn drop(&self, store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(err) = result {
            eprintln!("an instance of the component failed: {err:?}");
        }
        drop(store);
    }
}

//! What each store of the component holds: WASI and wasi:http contexts, the key-value store
//! and the variables.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::keyvalue::RedisStore;

pub struct HostState {
    pub table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub store: RedisStore,
    pub variables: Arc<HashMap<String, String>>,
}

impl HostState {
    pub fn new(store: RedisStore, variables: Arc<HashMap<String, String>>) -> Self {
        HostState {
            table: ResourceTable::new(),
            // The component's logs go to this process's output, as under Spin.
            wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            store,
            variables,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: wasmtime_wasi_http::default_hooks(),
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

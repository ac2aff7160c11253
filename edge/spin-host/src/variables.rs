//! wasi:config/store: the component's Spin variables.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::wasi::config::store::{self as config_store, Error};
use crate::state::HostState;

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    config_store::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

impl config_store::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, Error>> {
        Ok(Ok(self.variables.get(&key).cloned()))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, Error>> {
        Ok(Ok(self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()))
    }
}

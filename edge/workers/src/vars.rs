//! The Worker's variables and secrets, read once per isolate. Every request reads the same six
//! (`EdgeConfig::from_host`), and reading one through `Env` takes several calls into JS (the
//! binding, its constructor's name, the value as a string; twice for a variable that is not a
//! secret). The values change only with a new deployment, which starts new isolates; what is
//! kept is still tied to the `env` object it was read from, and another `env` starts afresh.

use std::cell::RefCell;
use std::collections::HashMap;

use worker::Env;
use worker::js_sys::Object;
use worker::wasm_bindgen::JsValue;

#[derive(Default)]
struct Read {
    env: Option<JsValue>,
    values: HashMap<String, Option<String>>,
}

thread_local! {
    static READ: RefCell<Read> = RefCell::default();
}

/// Requests are served from `env` until the next call: values read from another `env` are
/// forgotten.
pub fn serve_from(env: &Env) {
    let env: &JsValue = env.as_ref();
    READ.with_borrow_mut(|read| {
        let same = read
            .env
            .as_ref()
            .is_some_and(|known| Object::is(known, env));
        if !same {
            read.env = Some(env.clone());
            read.values.clear();
        }
    });
}

/// `name`'s value, read with `from_env` the first time only (an unset name included).
pub fn read(name: &str, from_env: impl FnOnce() -> Option<String>) -> Option<String> {
    if let Some(known) = READ.with_borrow(|read| read.values.get(name).cloned()) {
        return known;
    }
    let value = from_env();
    READ.with_borrow_mut(|read| read.values.insert(name.to_owned(), value.clone()));
    value
}

//! Ed25519 through the runtime's WebCrypto (`crypto.subtle`): the signature check of a
//! buyer's token runs natively instead of in Wasm, where it was the largest CPU cost of a
//! buyer's first request. The imported key is kept for the isolate's life.

use std::cell::RefCell;

use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// The key as WebCrypto holds it, or `None` if this runtime could not import it (no Ed25519):
/// then every check answers `None` and the edge checks in Wasm.
struct Imported {
    raw: [u8; 32],
    key: Option<JsValue>,
}

thread_local! {
    static IMPORTED: RefCell<Option<Imported>> = const { RefCell::new(None) };
}

/// Whether `signature` signs `message` under `public_key`; `None` without WebCrypto Ed25519.
pub async fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Option<bool> {
    let key = imported(public_key).await?;
    let subtle = subtle().ok()?;
    let args = Array::of4(
        &algorithm().ok()?,
        &key,
        &Uint8Array::from(&signature[..]),
        &Uint8Array::from(message),
    );
    let verified = call(&subtle, "verify", &args).await.ok()?;
    verified.as_bool()
}

async fn imported(public_key: &[u8; 32]) -> Option<JsValue> {
    let known = IMPORTED.with_borrow(|imported| {
        imported
            .as_ref()
            .filter(|imported| imported.raw == *public_key)
            .map(|imported| imported.key.clone())
    });
    if let Some(key) = known {
        return key;
    }
    let key = import(public_key).await.ok();
    IMPORTED.set(Some(Imported {
        raw: *public_key,
        key: key.clone(),
    }));
    key
}

async fn import(public_key: &[u8; 32]) -> Result<JsValue, JsValue> {
    let args = Array::of5(
        &JsValue::from_str("raw"),
        &Uint8Array::from(&public_key[..]),
        &algorithm()?,
        &JsValue::FALSE,
        &Array::of1(&JsValue::from_str("verify")),
    );
    call(&subtle()?, "importKey", &args).await
}

fn subtle() -> Result<JsValue, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    Reflect::get(&crypto, &JsValue::from_str("subtle"))
}

fn algorithm() -> Result<JsValue, JsValue> {
    let algorithm = Object::new();
    Reflect::set(
        &algorithm,
        &JsValue::from_str("name"),
        &JsValue::from_str("Ed25519"),
    )?;
    Ok(algorithm.into())
}

/// Calls `subtle[method](...args)` and awaits the promise it returns.
async fn call(subtle: &JsValue, method: &str, args: &Array) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(subtle, &JsValue::from_str(method))?.dyn_into()?;
    let promise: Promise = function.apply(subtle, args)?.dyn_into()?;
    JsFuture::from(promise).await
}

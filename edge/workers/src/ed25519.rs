//! Ed25519 through the runtime's WebCrypto (`crypto.subtle`): the signature check of a
//! buyer's token runs natively instead of in Wasm, where it was the largest CPU cost of a
//! buyer's first request. The imported key is kept for the isolate's life.

use std::cell::RefCell;

use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// What a check needs from WebCrypto, kept for the isolate's life so that a check builds no
/// JS object but its two byte arrays: `crypto.subtle`, the algorithm, the imported key.
#[derive(Clone)]
struct Verifier {
    subtle: JsValue,
    algorithm: JsValue,
    key: JsValue,
}

/// The raw key and its verifier, or `None` if this runtime could not import it (no Ed25519):
/// then every check answers `None` and the edge checks in Wasm.
type Imported = ([u8; 32], Option<Verifier>);

thread_local! {
    static IMPORTED: RefCell<Option<Imported>> = const { RefCell::new(None) };
}

/// Whether `signature` signs `message` under `public_key`; `None` without WebCrypto Ed25519.
pub async fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Option<bool> {
    let verifier = verifier(public_key).await?;
    let args = Array::of4(
        &verifier.algorithm,
        &verifier.key,
        &Uint8Array::from(&signature[..]),
        &Uint8Array::from(message),
    );
    let verified = call(&verifier.subtle, "verify", &args).await.ok()?;
    verified.as_bool()
}

async fn verifier(public_key: &[u8; 32]) -> Option<Verifier> {
    let known = IMPORTED.with_borrow(|imported| {
        imported
            .as_ref()
            .filter(|(raw, _)| raw == public_key)
            .map(|(_, verifier)| verifier.clone())
    });
    if let Some(verifier) = known {
        return verifier;
    }
    let verifier = import(public_key).await.ok();
    IMPORTED.set(Some((*public_key, verifier.clone())));
    verifier
}

async fn import(public_key: &[u8; 32]) -> Result<Verifier, JsValue> {
    let subtle = subtle()?;
    let algorithm = algorithm()?;
    let args = Array::of5(
        &JsValue::from_str("raw"),
        &Uint8Array::from(&public_key[..]),
        &algorithm,
        &JsValue::FALSE,
        &Array::of1(&JsValue::from_str("verify")),
    );
    let key = call(&subtle, "importKey", &args).await?;
    Ok(Verifier {
        subtle,
        algorithm,
        key,
    })
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

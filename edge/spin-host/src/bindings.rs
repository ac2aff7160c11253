//! Host bindings of the interfaces in `edge/spin/wit`, the same files the component is built
//! against. Host functions are async (Redis) and may trap (a bucket handle that is not ours).

wasmtime::component::bindgen!({
    path: "../spin/wit",
    world: "spin-host-imports",
    imports: { default: async | trappable },
});

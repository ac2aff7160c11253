//! The OpenAPI document, generated from the handlers' annotations (utoipa): the routes that
//! exist are exactly the routes documented.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "edgeshop core API",
        description = "The regional core of edgeshop. JSON is camelCase; ids are strings of digits; \
                       money amounts are decimal strings such as \"499.99\" (never JSON numbers, so \
                       nothing is rounded through a float). Errors are {\"error\": {\"code\", \"message\"}}. \
                       Every POST accepts an Idempotency-Key header: the same key and request replay \
                       the first answer (with Idempotent-Replayed: true), the same key with another \
                       request is 422, and a key still in flight is 409."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth"), (name = "users"), (name = "catalog"), (name = "checkout"), (name = "orders"),
        (name = "sellers"), (name = "admin"), (name = "operations")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT (EdDSA)")
                    .build(),
            ),
        );
    }
}

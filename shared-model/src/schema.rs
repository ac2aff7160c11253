//! OpenAPI schemas for types that travel as JSON strings but are not strings in Rust
//! (ids, codes, SKUs). utoipa cannot be told "this struct is a string" at the container level,
//! so the schema is written by hand here. Without the `openapi` feature this expands to nothing.

/// `string_schema!(Type, "description", "example")` or with a pattern as a fourth argument.
macro_rules! string_schema {
    ($name:ty, $description:expr, $example:literal $(, $pattern:literal)?) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    $(.pattern(Some($pattern)))?
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

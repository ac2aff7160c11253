//! The one error type of the domain model: every rule that can refuse an input says why here.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// An input value broke a rule; `field` names it in the API's camelCase.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("amounts in {left} and {right} cannot be combined")]
    CurrencyMismatch { left: String, right: String },
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
    #[error("an order cannot move from {from} to {to}")]
    IllegalTransition { from: String, to: String },
    #[error("the return window closed on {0}")]
    ReturnWindowClosed(String),
    #[error("no cart line {0}")]
    UnknownCartLine(String),
    #[error("token rejected: {0}")]
    Token(&'static str),
}

impl ModelError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

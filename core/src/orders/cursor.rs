//! Opaque cursors for "newest first" listings: the position after the last row shown, as
//! (created_at, id). Unlike offsets they stay correct while new orders arrive.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::ApiError;

/// Where a listing resumes: after this (created_at, id).
pub type Position = (DateTime<Utc>, i64);

pub fn encode(created_at: DateTime<Utc>, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", created_at.timestamp_micros()))
}

pub fn decode(cursor: &str) -> Result<Position, ApiError> {
    let invalid = || ApiError::bad_request("invalid_cursor", "cursor is not one this API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (micros, id) = text.split_once(':').ok_or_else(invalid)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| invalid())?)
        .ok_or_else(invalid)?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}

/// The page size asked for: 1-100, default 20.
pub fn limit(raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(20),
        Some(text) => match text.parse::<i64>() {
            Ok(n @ 1..=100) => Ok(n),
            _ => Err(shared_model::ModelError::invalid(
                "limit",
                "must be a whole number from 1 to 100",
            )
            .into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_junk_is_refused() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(decode(&encode(at, 42)).unwrap(), (at, 42));
        for junk in [
            "",
            "!!!",
            "bm90IGEgY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("1:x"),
        ] {
            assert!(decode(junk).is_err(), "{junk}");
        }
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("101")).is_err());
        assert_eq!(limit(None).unwrap(), 20);
    }
}

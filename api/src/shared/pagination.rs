//! Cursor pagination, as every list of the API reads it: `limit` (1 to
//! 100, default 20) and `cursor` (the `next_cursor` of the previous page,
//! naming the time and id of the last item seen).

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use crate::http::query::QueryParams;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page. It names a position in the list
    /// (the microseconds since 1970 and the id of the last item seen), so any
    /// value of this pattern is a valid cursor.
    #[param(
        max_length = 60,
        pattern = r"^[0-9]{1,16}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub cursor: Option<String>,
}

impl QueryParams for PageQuery {
    fn expected(name: &str) -> Option<&'static str> {
        match name {
            "limit" => Some("limit must be a whole number from 1 to 100"),
            "cursor" => Some("cursor must be the next_cursor of a previous page"),
            _ => None,
        }
    }
}

/// The page size a list's `limit` asks for: 1 to 100, 20 when absent.
pub fn limit(asked: Option<u64>) -> Result<u64, ApiError> {
    match asked {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "/limit",
            ErrorCode::OutOfRange,
            "limit is 1 to 100",
        )),
    }
}

impl PageQuery {
    pub fn limit(&self) -> Result<u64, ApiError> {
        limit(self.limit)
    }

    /// The (created_at, id) the cursor encodes.
    pub fn after(&self) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let (time, id) = cursor_parts(cursor)?;
        let micros: i64 = time.parse().map_err(|_| invalid_cursor())?;
        let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(invalid_cursor)?;
        Ok(Some((at, id)))
    }
}

/// A cursor that is not one this API returned: 422 at `/cursor`.
pub fn invalid_cursor() -> ApiError {
    ApiError::field(
        "/cursor",
        ErrorCode::InvalidCursor,
        "not a cursor this API returned",
    )
}

/// Every list's cursor is `<position>_<id>`: the position in the list's
/// order (its own encoding, with no `_`) and the id of the last item seen.
pub fn cursor_parts(cursor: &str) -> Result<(&str, Uuid), ApiError> {
    let (position, id) = cursor.rsplit_once('_').ok_or_else(invalid_cursor)?;
    Ok((position, Uuid::parse_str(id).map_err(|_| invalid_cursor())?))
}

/// The cursor of a list's last item: its creation time and id.
pub fn cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{}", created_at.timestamp_micros(), id)
}

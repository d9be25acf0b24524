//! The query-string extractor: actix's `web::Query`, except that a bad
//! parameter is a 422 that names it (`/limit`, as the handlers' own checks
//! do) in our words, never in the parser's ("Query deserialize error:
//! invalid digit found in string").

use crate::http::codes::ErrorCode;
use crate::http::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::{Ready, ready};

/// Implemented by the query DTOs: what each parameter must be, said to a
/// caller who sent something else.
pub trait QueryParams {
    /// `limit` → "limit must be a whole number from 1 to 100"; `None` for a
    /// generic sentence.
    fn expected(name: &str) -> Option<&'static str>;
}

/// A parsed query string. Named `Query`, like actix's, so that utoipa's
/// actix support treats it the same.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// The text between the first pair of backticks of a serde message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// The parameter a parse failure is about, and the 422 for it.
fn problem<T: QueryParams>(error: serde_path_to_error::Error<serde::de::value::Error>) -> ApiError {
    use serde_path_to_error::Segment;
    let at = error.path().iter().find_map(|segment| match segment {
        Segment::Map { key } => Some(key.clone()),
        _ => None,
    });
    // Only used to classify: serde's own words never reach the client.
    let message = error.into_inner().to_string();
    let named = quoted(&message).map(str::to_owned);
    let (name, code, detail) = if message.starts_with("unknown field") {
        let name = named.or(at).unwrap_or_default();
        let detail = format!("{name} is not a parameter of this operation");
        (name, ErrorCode::UnknownField, detail)
    } else if message.starts_with("missing field") {
        let name = named.or(at).unwrap_or_default();
        let detail = format!("{name} is required");
        (name, ErrorCode::Required, detail)
    } else if message.starts_with("duplicate field") {
        let name = named.or(at).unwrap_or_default();
        let detail = format!("{name} must be given once");
        (name, ErrorCode::Duplicate, detail)
    } else {
        let name = at.unwrap_or_default();
        let detail = T::expected(&name).map_or_else(
            || format!("{name} has a value that is not valid here"),
            str::to_owned,
        );
        (name, ErrorCode::InvalidValue, detail)
    };
    if name.is_empty() {
        return ApiError::field(
            "query",
            ErrorCode::InvalidQuery,
            "the query string is not valid",
        );
    }
    ApiError::field(&format!("/{name}"), code, detail)
}

/// Parses a query string into `T`, or the 422 that names the parameter.
pub fn parse<T: DeserializeOwned + QueryParams>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(problem::<T>)
}

impl<T: DeserializeOwned + QueryParams> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Page {
        limit: Option<u64>,
        cursor: Option<String>,
    }

    impl QueryParams for Page {
        fn expected(name: &str) -> Option<&'static str> {
            (name == "limit").then_some("limit must be a whole number from 1 to 100")
        }
    }

    fn error_of(query: &str) -> serde_json::Value {
        let error = match parse::<Page>(query) {
            Ok(page) => panic!("{query} was accepted: {page:?}"),
            Err(error) => error,
        };
        serde_json::to_value(error.problem()).unwrap_or_default()
    }

    #[test]
    fn a_bad_parameter_is_named_in_our_words() {
        for (query, pointer, code, detail) in [
            (
                "limit=-1",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "limit=abc&cursor=x",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "limit=99999999999999999999999",
                "/limit",
                "invalid_value",
                "limit must be a whole number from 1 to 100",
            ),
            (
                "colour=red",
                "/colour",
                "unknown_field",
                "colour is not a parameter of this operation",
            ),
            (
                "cursor=a&cursor=b",
                "/cursor",
                "duplicate",
                "cursor must be given once",
            ),
        ] {
            let problem = error_of(query);
            assert_eq!(problem["status"], 422, "{query}: {problem}");
            assert_eq!(problem["code"], "validation_failed", "{query}: {problem}");
            assert_eq!(
                problem["errors"],
                serde_json::json!([{"pointer": pointer, "code": code, "detail": detail}]),
                "{query}"
            );
            let text = problem.to_string().to_lowercase();
            for word in ["deserialize", "parsing", "invalid digit", "`"] {
                assert!(!text.contains(word), "{query}: {problem}");
            }
        }
    }

    #[test]
    fn good_parameters_parse() {
        let page = parse::<Page>("limit=5&cursor=abc").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((page.limit, page.cursor.as_deref()), (Some(5), Some("abc")));
        let page = parse::<Page>("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((page.limit, page.cursor), (None, None));
    }
}

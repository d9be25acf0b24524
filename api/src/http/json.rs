//! The JSON body extractor: checks the content type (415), the size (413),
//! the syntax (400), then the shape with JSON pointers to the offending field
//! (422: unknown fields, missing fields, wrong types), control characters in
//! any string (422, see [`control_character_errors`]) and finally the DTO's
//! own [`Validate`] rules (422).

use crate::http::codes::ErrorCode;
use crate::http::problem::{ApiError, FieldError};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Limits for request bodies, set once in app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Implemented by request DTOs: rules beyond the JSON shape.
pub trait Validate {
    fn validate(&self) -> Vec<FieldError>;
}

/// A validated JSON request body.
#[derive(Debug)]
pub struct Json<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Turns a serde path (`items[0].years`) into a JSON pointer (`/items/0/years`).
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// The text between the first pair of backticks of a serde message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// `valid_json`: the body parses as JSON, so any failure is about its shape
/// (serde_json reports some type errors, e.g. a number where an enum is
/// expected, as syntax errors).
pub(crate) fn shape_error(
    error: serde_path_to_error::Error<serde_json::Error>,
    valid_json: bool,
) -> ApiError {
    let base = pointer(error.path());
    let inner = error.into_inner();
    if !inner.is_data() && !valid_json {
        return ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {inner}"),
        );
    }
    let message = inner.to_string();
    // serde_json appends " at line L column C"; the pointer says where.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_owned();
    let (pointer, code) = if message.starts_with("unknown field") {
        // The path already ends at the unknown key.
        let field = quoted(&message).unwrap_or("?");
        let suffix = format!("/{field}");
        let pointer = if base.ends_with(&suffix) {
            base.clone()
        } else {
            format!("{base}{suffix}")
        };
        (pointer, ErrorCode::UnknownField)
    } else if message.starts_with("missing field") {
        let field = quoted(&message).unwrap_or("?");
        (format!("{base}/{field}"), ErrorCode::Required)
    } else if message.starts_with("unknown variant") {
        (base, ErrorCode::InvalidValue)
    } else {
        (base, ErrorCode::InvalidType)
    };
    ApiError::field(&pointer, code, message)
}

/// Whether a decoded string may not hold `c`: the C0 control characters
/// U+0000..U+001F except tab and newline.
///
/// Tab and newline are allowed in every field because no field needs them
/// refused for the storage's sake (both databases keep them, unlike NUL,
/// which PostgreSQL's text cannot hold) and free text (addresses, notes)
/// may use them; fields that must be one token (usernames, emails, tax ids,
/// codes, amounts) refuse all whitespace in their own [`Validate`] or
/// domain parser anyway. Everything else in C0 (NUL, CR, backspace, form
/// feed, escape…) has no business in this API's text and is refused
/// everywhere, keys included, before any handler sees it.
fn is_refused_control(c: char) -> bool {
    c < '\u{20}' && c != '\t' && c != '\n'
}

/// Whether the raw body has an escape that decodes to a refused control
/// character: `\b`, `\f`, `\r` or `\u0000`..`\u001f` (but `\u0009`,
/// `\u000a`). A raw control character inside a string is already a syntax
/// error (400), so a body without such an escape — nearly every body — is
/// settled by this one scan, with no second parse.
fn has_control_escape(body: &[u8]) -> bool {
    let mut i = 0;
    while let Some(offset) = body[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        match body.get(at + 1) {
            Some(b'b' | b'f' | b'r') => return true,
            Some(b'u') => {
                if let Some(hex) = body.get(at + 2..at + 6)
                    && hex[0] == b'0'
                    && hex[1] == b'0'
                    && (hex[2] == b'0' || hex[2] == b'1')
                    && hex[3].is_ascii_hexdigit()
                    && !(hex[2] == b'0' && matches!(hex[3], b'9' | b'a' | b'A'))
                {
                    return true;
                }
            }
            _ => {}
        }
        // Skip the escaped character too (`\\` must not start an escape).
        i = at + 2;
        if i >= body.len() {
            break;
        }
    }
    false
}

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Collects a `control_character` error for every string (object keys and
/// values) of `value` holding a refused control character.
fn collect_control_errors(value: &serde_json::Value, at: &str, errors: &mut Vec<FieldError>) {
    use serde_json::Value;
    const DETAIL: &str =
        "control characters (U+0000 to U+001F) are not allowed, except tab and newline";
    match value {
        Value::String(text) if text.chars().any(is_refused_control) => {
            errors.push(FieldError::new(at, ErrorCode::ControlCharacter, DETAIL));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_control_errors(item, &format!("{at}/{index}"), errors);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                let pointer = format!("{at}/{}", escape_pointer_token(key));
                if key.chars().any(is_refused_control) {
                    errors.push(FieldError::new(
                        &pointer,
                        ErrorCode::ControlCharacter,
                        DETAIL,
                    ));
                } else {
                    collect_control_errors(member, &pointer, errors);
                }
            }
        }
        _ => {}
    }
}

/// The `control_character` errors of a body (empty when it has none, or
/// when it is not JSON at all: the shape check then reports that). Every
/// JSON body of the API passes here, the signed webhook's included.
pub fn control_character_errors(body: &[u8]) -> Vec<FieldError> {
    if !has_control_escape(body) {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    collect_control_errors(&value, "", &mut errors);
    errors
}

/// Parses and validates a JSON body already read.
pub fn parse_bytes<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let control = control_character_errors(body);
    if !control.is_empty() {
        return Err(ApiError::validation(control));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let valid_json = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
        shape_error(error, valid_json)
    })?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("trailing data after the JSON value: {e}"),
        )
    })?;
    let errors = value.validate();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(value)
}

/// A JSON body's raw bytes (content type and size checked), for handlers
/// that must see the exact bytes (signed webhooks).
#[derive(Debug)]
pub struct RawJson(pub web::Bytes);

fn read_json_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Pin<Box<dyn Future<Output = Result<web::Bytes, ApiError>>>> {
    let limit = req.app_data::<BodyLimit>().map_or(64 * 1024, |l| l.0);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let declared_length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let deadline = req
        .app_data::<crate::config::state::BodyDeadline>()
        .map_or(std::time::Duration::from_secs(10), |d| d.0);
    let mut payload = payload.take();
    Box::pin(async move {
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("request bodies are limited to {limit} bytes"),
            )
        };
        match content_type.as_deref() {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::UnsupportedMediaType,
                    format!("expected Content-Type: application/json, got {ct}"),
                ));
            }
            None => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::UnsupportedMediaType,
                    "expected Content-Type: application/json",
                ));
            }
        }
        if declared_length.is_some_and(|len| len > limit) {
            return Err(too_large());
        }
        // The whole body within the deadline, however it is dripped: a
        // client that sends a byte now and then must not hold a connection.
        let read = async {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request(ErrorCode::UnreadableBody, e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, ApiError>(body.freeze())
        };
        match tokio::time::timeout(deadline, read).await {
            Ok(body) => body,
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s",
                    deadline.as_secs()
                ),
            )
            .closing_connection()),
        }
    })
}

impl FromRequest for RawJson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json_body(req, payload);
        Box::pin(async move { body.await.map(RawJson) })
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json_body(req, payload);
        Box::pin(async move { parse_bytes(&body.await?).map(Json) })
    }
}

/// Reads an optional whole number that JSON may spell `4` or `4.0` (JSON
/// Schema counts both as integers); fractions and negatives are refused.
pub fn optional_whole<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(value) = number.as_u64() {
        return u32::try_from(value)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{value} is too large")));
    }
    match number.as_f64() {
        Some(value) if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) => {
            Ok(Some(value as u32))
        }
        _ => Err(D::Error::custom(format!(
            "expected a whole number, got {number}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        years: u32,
    }

    fn error_of(text: &str) -> (u16, String, String) {
        let mut de = serde_json::Deserializer::from_str(text);
        let result: Result<Outer, _> = serde_path_to_error::deserialize(&mut de);
        let error = match result {
            Ok(_) => panic!("{text} was accepted"),
            Err(e) => shape_error(e, serde_json::from_str::<serde_json::Value>(text).is_ok()),
        };
        let problem = error.problem();
        let pointer = problem
            .errors
            .first()
            .map(|e| e.pointer.clone())
            .unwrap_or_default();
        (problem.status, problem.code, pointer)
    }

    #[test]
    fn shape_errors_point_at_the_field() {
        assert_eq!(
            error_of(r#"{"inner": {"years": "x"}}"#),
            (422, "validation_failed".into(), "/inner/years".into())
        );
        assert_eq!(
            error_of(r#"{"inner": {"years": 1, "evil": 1}}"#),
            (422, "validation_failed".into(), "/inner/evil".into())
        );
        assert_eq!(
            error_of(r#"{"inner": {}}"#),
            (422, "validation_failed".into(), "/inner/years".into())
        );
        assert_eq!(
            error_of(r#"{"inner": {"#),
            (400, "malformed_json".into(), String::new())
        );
    }

    #[test]
    fn control_characters_are_found_in_values_and_keys() {
        let pointers = |body: &str| -> Vec<String> {
            control_character_errors(body.as_bytes())
                .into_iter()
                .map(|e| e.pointer)
                .collect()
        };
        assert_eq!(
            pointers(r#"{"holder": {"denominazione": "X\u0000Y"}}"#),
            ["/holder/denominazione"]
        );
        assert_eq!(
            pointers(r#"{"a": ["ok", "\r"], "b\u001F": 1}"#),
            ["/a/1", "/b\u{1f}"]
        );
        assert_eq!(pointers(r#"{"a/b": "\b", "c": "\f"}"#), ["/a~1b", "/c"]);
        // Tab, newline, an escaped backslash before `u0000`, and other
        // escapes are text.
        assert!(
            pointers(r#"{"a": "x\ty\nz\u0009\u000A", "b": "\\u0000", "c": "\u0020\"\/"}"#)
                .is_empty()
        );
        assert!(pointers(r#"{"a": "\\"}"#).is_empty());
        assert!(pointers(r#"{"a": "\"#).is_empty());
        assert!(pointers("not json \\u0000").is_empty());
        for escape in [
            "\\u0000", "\\u001f", "\\u000D", "\\u000b", "\\r", "\\b", "\\f",
        ] {
            let body = format!(r#"{{"x": "a{escape}b"}}"#);
            assert_eq!(pointers(&body), ["/x"], "{body}");
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}

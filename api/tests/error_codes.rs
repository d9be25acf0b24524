//! The error codes the OpenAPI document names are the ones the handlers
//! answer with: every `code` a 4xx/5xx description quotes is an
//! `ErrorCode` (or a code the domain decides: an eligibility violation, a
//! refused field of a contact or a wizard step), so a renamed code cannot
//! leave the document behind.

use api::http::codes::ErrorCode;
use domain::ViolationCode;
use domain::fields::FieldCode;

/// Backquoted snake_case words of the descriptions that are not codes but
/// the problem document's own members.
const PROBLEM_MEMBERS: [&str; 3] = ["errors", "violations", "code"];

fn quoted_words(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[test]
fn every_code_an_error_response_names_is_an_error_code() {
    let document = serde_json::to_value(api::openapi())
        .unwrap_or_else(|e| panic!("the document serialises: {e}"));
    let paths = document["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("paths"));
    let mut named = 0;
    let mut unknown = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap_or_else(|| panic!("a path item")) {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let description = response["description"].as_str().unwrap_or_default();
                for word in quoted_words(description) {
                    if PROBLEM_MEMBERS.contains(&word) {
                        continue;
                    }
                    named += 1;
                    let known = ErrorCode::parse(word).is_some()
                        || ViolationCode::ALL.iter().any(|v| v.as_str() == word)
                        || FieldCode::ALL.iter().any(|f| f.as_str() == word);
                    if !known {
                        unknown.push(format!("{method} {path} {status}: `{word}`"));
                    }
                }
            }
        }
    }
    assert!(
        named > 10,
        "the descriptions name the codes ({named} found)"
    );
    assert!(
        unknown.is_empty(),
        "codes the API never answers: {unknown:#?}"
    );
}

#[test]
fn a_made_up_code_would_be_caught() {
    assert_eq!(
        quoted_words("Refused (`no_such_code`, see `X-Cart-Token`)"),
        ["no_such_code"]
    );
    assert!(ErrorCode::parse("no_such_code").is_none());
}

//! Every error code the API answers with, in one enum: the `code` of a
//! problem and of a field error. Handlers name a variant, never a string,
//! and a test holds the OpenAPI descriptions to this list (a code a
//! description names must be one of these), so a code cannot drift.
//! Codes decided by the domain (eligibility violations, holder and
//! password rules) are the domain's own enums and reach clients as theirs.

macro_rules! error_codes {
    ($($variant:ident => $text:literal,)*) => {
        /// A stable machine code; clients branch on it, never on `detail`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, for the tests that hold the document to them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<ErrorCode> {
                Self::ALL.iter().copied().find(|code| code.as_str() == text)
            }
        }
    };
}

error_codes! {
    AddonAlreadyPending => "addon_already_pending",
    AttachmentNotFound => "attachment_not_found",
    AuthenticationRequired => "authentication_required",
    CartBusy => "cart_busy",
    CartChanged => "cart_changed",
    CartEmpty => "cart_empty",
    CartFull => "cart_full",
    CartItemNotFound => "cart_item_not_found",
    CartNotEligible => "cart_not_eligible",
    CartNotFound => "cart_not_found",
    CartNotOpen => "cart_not_open",
    CartTokenInvalid => "cart_token_invalid",
    CartTokenRequired => "cart_token_required",
    ConfirmationMismatch => "confirmation_mismatch",
    Conflict => "conflict",
    ContactInUse => "contact_in_use",
    ContactNotFound => "contact_not_found",
    ControlCharacter => "control_character",
    CredentialsChanged => "credentials_changed",
    Duplicate => "duplicate",
    EmailTaken => "email_taken",
    // The import's refusals of a file (issue 11): the domain's
    // `fatturapa::ImportCode` decides them, `invoices::errors` names them.
    FileTooLarge => "file_too_large",
    ForbiddenDtd => "forbidden_dtd",
    Error => "error",
    HolderRequired => "holder_required",
    IdempotencyKeyInFlight => "idempotency_key_in_flight",
    IdempotencyKeyRequired => "idempotency_key_required",
    IdempotencyKeyReused => "idempotency_key_reused",
    InternalError => "internal_error",
    InvalidAmount => "invalid_amount",
    InvalidCredentials => "invalid_credentials",
    InvalidCurrentPassword => "invalid_current_password",
    InvalidCursor => "invalid_cursor",
    InvalidEmail => "invalid_email",
    InvalidField => "invalid_field",
    InvalidLength => "invalid_length",
    InvalidQuery => "invalid_query",
    InvalidRefreshToken => "invalid_refresh_token",
    InvalidSignedFile => "invalid_signed_file",
    InvalidSignature => "invalid_signature",
    InvalidToken => "invalid_token",
    InvalidType => "invalid_type",
    InvalidValue => "invalid_value",
    InvoiceNotForThisService => "invoice_not_for_this_service",
    InvoiceNotFound => "invoice_not_found",
    MalformedJson => "malformed_json",
    MalformedXml => "malformed_xml",
    MalformedZip => "malformed_zip",
    MethodNotAllowed => "method_not_allowed",
    MissingField => "missing_field",
    NotFatturapa => "not_fatturapa",
    NotFound => "not_found",
    OrderAlreadyPaid => "order_already_paid",
    OrderNotCancellable => "order_not_cancellable",
    OrderNotFound => "order_not_found",
    OrderNotPayable => "order_not_payable",
    OrderNotRetryable => "order_not_retryable",
    OutOfRange => "out_of_range",
    PasswordChangeRequired => "password_change_required",
    PasswordUnchanged => "password_unchanged",
    PayloadTooLarge => "payload_too_large",
    PreconditionFailed => "precondition_failed",
    ProductNotFound => "product_not_found",
    QuantityOutOfBounds => "quantity_out_of_bounds",
    RefreshTokenReused => "refresh_token_reused",
    // A read-only field sent with another value (the wizard's tax ids;
    // the domain's `FieldCode::ReadOnlyField` decides it).
    ReadOnlyField => "read_only_field",
    RequestTimeout => "request_timeout",
    Required => "required",
    RouteNotFound => "route_not_found",
    ServiceNotFound => "service_not_found",
    ServiceUnavailable => "service_unavailable",
    SetupIncomplete => "setup_incomplete",
    SetupRequired => "setup_required",
    StepOutOfOrder => "step_out_of_order",
    TemporaryPasswordExpired => "temporary_password_expired",
    TermsNotAccepted => "terms_not_accepted",
    TooLong => "too_long",
    TooManyAttempts => "too_many_attempts",
    UnknownField => "unknown_field",
    UnknownProduct => "unknown_product",
    UnreadableBody => "unreadable_body",
    UnsupportedCurrency => "unsupported_currency",
    UnsupportedMediaType => "unsupported_media_type",
    UnsupportedVersion => "unsupported_version",
    ValidationFailed => "validation_failed",
    WrongAudience => "wrong_audience",
    YearsOutOfBounds => "years_out_of_bounds",
    ZipTooLarge => "zip_too_large",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_distinct_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text} is not snake_case"
            );
            assert_eq!(ErrorCode::parse(text), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}

//! Signed invoices (`.xml.p7m`, CAdES): a CMS SignedData whose
//! encapsulated content is the XML. Read with rasn's BER codec (signing
//! tools write indefinite lengths and chunked octet strings, which DER
//! readers refuse), DER or base64 (with or without line breaks, with or
//! without PEM armour). The signature is not verified: the SdI did that
//! when it accepted the file, and every certificate expires.

use super::{ImportCode, ImportError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rasn_cms::{CONTENT_SIGNED_DATA, ContentInfo, SignedData};
use std::borrow::Cow;

/// A signed file signed again (counter-signature by envelope) is unwrapped
/// this many times at most.
const MAX_ENVELOPES: usize = 3;

fn invalid(reason: impl Into<String>) -> ImportError {
    ImportError::new(ImportCode::InvalidSignedFile, reason)
}

/// The signed content of a `.p7m`: the XML bytes, as signed.
pub fn unwrap_p7m(bytes: &[u8]) -> Result<Vec<u8>, ImportError> {
    let mut content = signed_content(&der_of(bytes)?)?;
    for _ in 1..MAX_ENVELOPES {
        if content.first() != Some(&0x30) {
            break;
        }
        content = signed_content(&content)?;
    }
    Ok(content)
}

/// The binary form: as given when it starts as a SEQUENCE does, else
/// decoded from base64 (whitespace and PEM armour lines ignored).
fn der_of(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ImportError> {
    if bytes.first() == Some(&0x30) {
        return Ok(Cow::Borrowed(bytes));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid("neither a DER nor a base64 signed file"))?;
    let base64: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_ascii_whitespace()))
        .collect();
    if base64.is_empty() {
        return Err(invalid("the signed file is empty"));
    }
    STANDARD
        .decode(base64.as_bytes())
        .map(Cow::Owned)
        .map_err(|error| invalid(format!("not valid base64: {error}")))
}

fn signed_content(der: &[u8]) -> Result<Vec<u8>, ImportError> {
    let info: ContentInfo = rasn::ber::decode(der)
        .map_err(|error| invalid(format!("not a CMS ContentInfo: {error}")))?;
    if info.content_type != *CONTENT_SIGNED_DATA {
        return Err(invalid(format!(
            "a CMS {} message, not SignedData",
            info.content_type
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".")
        )));
    }
    let signed: SignedData = rasn::ber::decode(info.content.as_bytes())
        .map_err(|error| invalid(format!("not a CMS SignedData: {error}")))?;
    signed
        .encap_content_info
        .content
        .map(|content| content.to_vec())
        .ok_or_else(|| invalid("a detached signature: the file does not hold the invoice"))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_invalid_signed_file() {
        for bytes in [
            &b""[..],
            b"\x30\x03\x02\x01",
            b"hello world",
            b"\x30\x80",
            b"\xff\xfe",
        ] {
            let error = unwrap_p7m(bytes).expect_err("refused");
            assert_eq!(error.code, ImportCode::InvalidSignedFile);
        }
    }
}

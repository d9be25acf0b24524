//! E-mails the server wrote (the file transport), parsed enough for
//! assertions.

use crate::TestApp;

/// An `.eml` file the server wrote, parsed enough for assertions.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file_name: String,
    /// The outbox id (the file name ends with it).
    pub email_id: Option<uuid::Uuid>,
    /// Unfolded header lines, in order, as written.
    pub headers: Vec<(String, String)>,
    /// The body, quoted-printable decoded, with `\n` line ends.
    pub body: String,
}

impl Mail {
    /// Parses an RFC 5322 message with a quoted-printable (or 7bit) body.
    pub fn parse(file_name: &str, raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        let quoted = headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("Content-Transfer-Encoding")
                && value.eq_ignore_ascii_case("quoted-printable")
        });
        let body = if quoted {
            String::from_utf8_lossy(&quoted_printable_decode(body)).into_owned()
        } else {
            body.to_owned()
        };
        let email_id = file_name
            .strip_suffix(".eml")
            .and_then(|stem| stem.get(stem.len().saturating_sub(36)..))
            .and_then(|id| uuid::Uuid::parse_str(id).ok());
        Mail {
            file_name: file_name.to_owned(),
            email_id,
            headers,
            body,
        }
    }

    /// A header's value (name case-insensitive), still encoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The subject with RFC 2047 encoded-words decoded.
    pub fn subject(&self) -> String {
        decode_encoded_words(self.header("Subject").unwrap_or_default())
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Quoted-printable (RFC 2045): `=XX` bytes and `=` soft line breaks.
fn quoted_printable_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let pair = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            );
            if let (Some(high), Some(low)) = pair {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or_default());
        }
    }
    out
}

/// RFC 2047: `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words decoded; the space
/// between two encoded words is dropped, as the RFC says.
fn decode_encoded_words(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut previous_encoded = false;
    for (n, word) in value.split_whitespace().enumerate() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let _charset = parts.next()?;
                let encoding = parts.next()?;
                let text = parts.next()?;
                match encoding {
                    "b" | "B" => Some(base64_decode(text)),
                    "q" | "Q" => Some(quoted_printable_decode(&text.replace('_', " "))),
                    _ => None,
                }
            });
        match decoded {
            Some(bytes) => {
                if n > 0 && !previous_encoded {
                    out.push(b' ');
                }
                out.extend(bytes);
                previous_encoded = true;
            }
            None => {
                if n > 0 {
                    out.push(b' ');
                }
                out.extend(word.as_bytes());
                previous_encoded = false;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `.eml` in `dir` (hidden temporary files left out), by file name
/// (that is, by time of sending).
pub fn read_mails(dir: &std::path::Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml") && !name.starts_with('.'))
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|name| {
            let raw = std::fs::read_to_string(dir.join(name)).ok()?;
            Some(Mail::parse(name, &raw))
        })
        .collect()
}

impl TestApp {
    /// The e-mails this server wrote so far.
    pub fn mails(&self) -> Vec<Mail> {
        read_mails(&self.mail_dir)
    }

    /// Waits, up to 15 s, for an e-mail to `recipient` to be written.
    pub async fn wait_for_mail(&self, recipient: &str) -> Mail {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found = self
                .mails()
                .into_iter()
                .find(|mail| mail.header("To").is_some_and(|to| to.contains(recipient)));
            if let Some(mail) = found {
                return mail;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no e-mail to {recipient} in {} within 15 s",
                self.mail_dir.display()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

//! The XML layer: bytes decoded by their BOM or declared encoding, then
//! read by quick-xml into a small tree of elements by local name. No DTD
//! is ever read (a DOCTYPE refuses the file before anything else), only
//! the five predefined entities and character references are resolved,
//! and the subtrees the importer never reads (the invoice lines) are
//! skipped, so the tree stays small whatever the file.

use super::{ImportCode, ImportError};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use std::borrow::Cow;

/// Deeper than any FatturaPA element (about 8 levels).
const MAX_DEPTH: usize = 64;
/// Elements kept in the tree (the skipped lines do not count).
const MAX_ELEMENTS: usize = 200_000;
/// Elements whose content the importer never reads.
const SKIPPED: &[&str] = &["DettaglioLinee", "Signature"];

/// An element: its local name, its attributes (kept for the root only),
/// its text (the concatenation of its text nodes, references resolved)
/// and its children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub prefix: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The namespace of this element's name, from its own declarations
    /// (enough for the root, whose declarations are all in scope).
    pub fn namespace(&self) -> Option<&str> {
        match &self.prefix {
            Some(prefix) => self.attribute(&format!("xmlns:{prefix}")),
            None => self.attribute("xmlns"),
        }
    }
}

fn malformed(reason: impl Into<String>) -> ImportError {
    ImportError::new(ImportCode::MalformedXml, reason)
}

/// The text of the file, decoded: a BOM decides, else the declaration's
/// `encoding` (UTF-8 when absent); bytes that are not of that encoding
/// refuse the file.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ImportError> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return decode_as(encoding, &bytes[bom..]);
    }
    let encoding = match declared_encoding(bytes) {
        None => UTF_8,
        Some(label) => Encoding::for_label(label.as_bytes())
            .filter(|e| e.is_ascii_compatible() || *e == UTF_16LE || *e == UTF_16BE)
            .ok_or_else(|| {
                malformed(format!("unknown encoding {label:?} in the XML declaration"))
            })?,
    };
    decode_as(encoding, bytes)
}

fn decode_as<'b>(
    encoding: &'static Encoding,
    bytes: &'b [u8],
) -> Result<Cow<'b, str>, ImportError> {
    let text = encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| malformed(format!("the bytes are not valid {}", encoding.name())))?;
    if let Some(at) = text.find(forbidden_char) {
        return Err(malformed(format!(
            "character U+{:04X} at offset {at} is not allowed in XML",
            u32::from(text[at..].chars().next().unwrap_or('\0'))
        )));
    }
    Ok(text)
}

/// Characters XML 1.0 does not allow anywhere (NUL and the C0 controls but
/// tab, line feed and carriage return).
fn forbidden_char(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// The `encoding` pseudo-attribute of the XML declaration, read from the
/// raw bytes (every encoding we accept writes the declaration in ASCII).
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_owned())
}

/// Reads the document into its root element.
pub(crate) fn read(text: &str) -> Result<Element, ImportError> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.check_comments = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    // Depth inside a skipped subtree (0: not skipping).
    let mut skipping = 0usize;
    let mut kept = 0usize;

    loop {
        let event = reader.read_event().map_err(|error| {
            malformed(format!(
                "not well-formed XML at byte {}: {error}",
                reader.error_position()
            ))
        })?;
        match event {
            Event::DocType(_) => {
                return Err(ImportError::new(
                    ImportCode::ForbiddenDtd,
                    "the file has a DOCTYPE: DTDs and entity declarations are never read",
                ));
            }
            Event::Start(start) => {
                if skipping > 0 {
                    skipping += 1;
                    continue;
                }
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!(
                        "elements nested deeper than {MAX_DEPTH}"
                    )));
                }
                kept += 1;
                if kept > MAX_ELEMENTS {
                    return Err(ImportError::new(
                        ImportCode::FileTooLarge,
                        format!("the file has more than {MAX_ELEMENTS} elements"),
                    ));
                }
                let qname = start.name();
                let name = qname.local_name().as_ref().to_owned();
                let mut element = Element {
                    prefix: qname.prefix().map(|p| p.as_ref().to_owned()),
                    ..Element::default()
                };
                if stack.is_empty() {
                    for attribute in start.attributes() {
                        let attribute = attribute
                            .map_err(|error| malformed(format!("bad attribute: {error}")))?;
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|error| malformed(format!("bad attribute value: {error}")))?;
                        element
                            .attributes
                            .push((attribute.key.as_ref().to_owned(), value.into_owned()));
                    }
                }
                if SKIPPED.contains(&name.as_str()) && !stack.is_empty() {
                    skipping = 1;
                }
                element.name = name;
                stack.push(element);
            }
            Event::End(_) => {
                if skipping > 1 {
                    skipping -= 1;
                    continue;
                }
                skipping = 0;
                let element = stack
                    .pop()
                    .ok_or_else(|| malformed("an end tag without its start"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                if skipping > 0 {
                    continue;
                }
                let content = text.xml10_content();
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(data) => {
                if skipping > 0 {
                    continue;
                }
                let content = data.into_inner();
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&content),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference
                    .resolve_char_ref()
                    .map_err(|error| malformed(format!("bad character reference: {error}")))?
                {
                    Some(c) if forbidden_char(c) => {
                        return Err(malformed(format!(
                            "character reference to U+{:04X}, not allowed in XML",
                            u32::from(c)
                        )));
                    }
                    Some(c) => Cow::Owned(c.to_string()),
                    None => {
                        let name = reference.into_inner();
                        match resolve_predefined_entity(&name) {
                            Some(value) => Cow::Borrowed(value),
                            None => {
                                return Err(malformed(format!(
                                    "undeclared entity &{name}; (entities are never declared in an invoice)"
                                )));
                            }
                        }
                    }
                };
                if skipping > 0 {
                    continue;
                }
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&resolved),
                    None => return Err(malformed("a reference outside the root element")),
                }
            }
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
                return Err(malformed("unexpected empty element"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            "the file ends before its elements are closed (truncated?)",
        ));
    }
    root.ok_or_else(|| malformed("no root element"))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_encoding() {
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding = 'ISO-8859-1' ?><a/>").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn latin1_and_windows_1252_decode_accented_letters() {
        let bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Citt\xe0 \x80</a>";
        let text = decode(bytes).expect("decodes");
        let root = read(&text).expect("reads");
        assert_eq!(root.text, "Città €");
    }

    #[test]
    fn invalid_utf8_is_malformed() {
        let error = decode(b"<a>\xff</a>").expect_err("refused");
        assert_eq!(error.code, ImportCode::MalformedXml);
    }

    #[test]
    fn entities_resolve_and_unknown_ones_are_refused() {
        let root = read("<a>A &amp; B &#x41;&#66;</a>").expect("reads");
        assert_eq!(root.text, "A & B AB");
        let error = read("<a>&foo;</a>").expect_err("refused");
        assert_eq!(error.code, ImportCode::MalformedXml);
        let error = read("<a>&#0;</a>").expect_err("refused");
        assert_eq!(error.code, ImportCode::MalformedXml);
    }

    #[test]
    fn a_doctype_is_refused_before_anything_is_expanded() {
        let error = read("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>")
            .expect_err("refused");
        assert_eq!(error.code, ImportCode::ForbiddenDtd);
    }

    #[test]
    fn truncated_and_mismatched_documents_are_malformed() {
        for text in ["<a><b>", "<a></b>", "<a/><b/>", "", "text", "<a/>text"] {
            let error = read(text).expect_err(text);
            assert_eq!(error.code, ImportCode::MalformedXml, "{text}");
        }
    }

    #[test]
    fn the_lines_are_skipped() {
        let root = read("<a><DettaglioLinee><x>1</x><x>2</x></DettaglioLinee><b>3</b></a>")
            .expect("reads");
        assert_eq!(root.children.len(), 2);
        assert!(root.children[0].children.is_empty());
        assert_eq!(root.children[1].text, "3");
    }

    #[test]
    fn nesting_is_bounded() {
        let text = "<a>".repeat(100) + &"</a>".repeat(100);
        let error = read(&text).expect_err("too deep");
        assert_eq!(error.code, ImportCode::MalformedXml);
    }
}

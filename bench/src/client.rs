//! A lean HTTP/1.1 keep-alive client: it writes prebuilt request bytes and
//! reads one `content-length` response at a time (no pipelining, no
//! chunked bodies, no TLS). It shares the machine's cores with the servers
//! under test, so it does as little as a client can; the same client drives
//! every target, which keeps the comparison fair.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes read into `buf`.
    filled: usize,
    /// Bytes of `buf` belonging to the last response, dropped on the next send.
    consumed: usize,
}

/// A response; the body borrows the connection's buffer.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

struct Head {
    status: u16,
    content_length: usize,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Parses a response head (status line and headers, ending in CRLF CRLF):
/// only the status and `content-length` matter here.
fn parse_head(head: &[u8]) -> io::Result<Head> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok()?.parse::<u16>().ok())
        .ok_or_else(|| {
            invalid(format!(
                "bad status line {:?}",
                String::from_utf8_lossy(status_line)
            ))
        })?;
    let mut length = None;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| invalid("bad content-length"))?;
            length = Some(parsed);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(invalid("chunked responses are not supported"));
        }
    }
    let content_length = match length {
        Some(n) => n,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => {
            return Err(invalid(format!("{status} response without content-length")));
        }
    };
    Ok(Head {
        status,
        content_length,
    })
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

impl Connection {
    pub async fn open(address: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: vec![0; 64 * 1024],
            filled: 0,
            consumed: 0,
        })
    }

    /// Writes one request and reads its response.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<Response<'_>> {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
        self.stream.write_all(request).await?;
        let mut scanned = 0;
        let head_end = loop {
            if let Some(at) = find_head_end(&self.buf[scanned..self.filled]) {
                break scanned + at + 4;
            }
            scanned = self.filled.saturating_sub(3);
            self.fill().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let end = head_end + head.content_length;
        while self.filled < end {
            self.fill().await?;
        }
        self.consumed = end;
        Ok(Response {
            status: head.status,
            body: &self.buf[head_end..end],
        })
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.filled == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.filled += n;
        Ok(())
    }
}

/// `GET path` with nothing but a Host header.
pub fn get_request(address: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n").into_bytes()
}

/// `POST path` with a JSON body and extra header lines (each ending in CRLF).
pub fn post_json(address: SocketAddr, path: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One request on a new connection; the body when the status is `expected`.
pub async fn fetch(address: SocketAddr, request: &[u8], expected: u16) -> anyhow::Result<Vec<u8>> {
    let mut conn = Connection::open(address).await?;
    let response = conn.send(request).await?;
    anyhow::ensure!(
        response.status == expected,
        "expected {expected}, got {}: {}",
        response.status,
        String::from_utf8_lossy(response.body)
    );
    Ok(response.body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_head() {
        let head = parse_head(b"HTTP/1.1 201 Created\r\nContent-Length: 42\r\nX: y\r\n\r\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.status, 201);
        assert_eq!(head.content_length, 42);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        let head =
            parse_head(b"HTTP/1.1 304 Not Modified\r\n\r\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.content_length, 0);
    }

    #[test]
    fn finds_the_end_of_a_head() {
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\nbody"), Some(15));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }
}

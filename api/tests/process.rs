//! The `attiva` binary as an operator runs it: a separate process, started
//! from a folder of its own. It needs no repository around it (the catalog
//! is built in), and SIGTERM stops it gracefully: the request in flight is
//! answered, then the process exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The text of a log line without its colours.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `attiva` process in an empty folder of its own.
struct Server {
    child: Child,
    folder: PathBuf,
    address: String,
    /// Standard output, one log line at a time.
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts the binary from a new empty folder with no settings but
    /// `ATTIVA_BIND=127.0.0.1:0` (tests run side by side, so the default
    /// port 8080 may be taken); the address it bound is read from its
    /// "listening" log line. `extra` settings are added.
    fn start(extra: &[(&str, &str)]) -> Server {
        let folder =
            std::env::temp_dir().join(format!("attiva-process-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&folder)
            .unwrap_or_else(|e| panic!("creating {}: {e}", folder.display()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_attiva"))
            .current_dir(&folder)
            .env_clear()
            .env("ATTIVA_BIND", "127.0.0.1:0")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting attiva: {e}"));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("no standard output"));
        let (sender, lines) = channel();
        // Read all along: a full pipe would stop the server's logging.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(plain(&line)).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            folder,
            address: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for_log("listening", Duration::from_secs(60));
        server.address = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("address="))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        server
    }

    /// Waits for a log line containing `text`; returns it.
    fn wait_for_log(&mut self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
            return line.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no log line with {text:?} within {within:?}: {:#?}",
                        self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let mut stderr = String::new();
                    if let Some(mut pipe) = self.child.stderr.take() {
                        let _ = pipe.read_to_string(&mut stderr);
                    }
                    panic!(
                        "attiva ended before logging {text:?}: {stderr}\n{:#?}",
                        self.seen
                    )
                }
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.address));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap_or_else(|e| panic!("{e}"));
        stream
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("running kill: {e}"));
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the process to end.
    fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("waiting for attiva: {e}"))
            {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "attiva still running {within:?} after SIGTERM: {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only if a test failed half-way: this process is ours.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// An HTTP/1.1 answer: status and JSON body.
fn answer_of(raw: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(raw);
    // Past any interim (1xx) answer.
    let last = text
        .rfind("HTTP/1.1 ")
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    let (head, body) = text[last..]
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("incomplete answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text:?}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (status, body)
}

#[test]
fn the_binary_started_from_an_empty_folder_serves_the_built_in_catalog() {
    let mut server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(
            b"GET /v1/catalog/products HTTP/1.1\r\nHost: attiva\r\nConnection: close\r\n\r\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("reading the catalog: {e}"));
    let (status, body) = answer_of(&raw);
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    for code in ["fe", "incassi-pagamenti", "spazio-1gb"] {
        assert!(
            text.contains(&format!("\"code\":\"{code}\"")),
            "{code} missing: {body}"
        );
    }
    let loaded = server.wait_for_log("catalog loaded", Duration::from_secs(1));
    assert!(loaded.contains("built-in"), "{loaded}");
    server.terminate();
    let status = server.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{:#?}", server.seen);
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_the_process_exits_0() {
    let mut server = Server::start(&[]);
    let mut stream = server.connect();
    let body = br#"{"channel":"web"}"#;
    // `Expect: 100-continue`: the server's "100 Continue" says it has the
    // request and its handler is waiting for the body.
    stream
        .write_all(
            format!(
                "POST /v1/carts HTTP/1.1\r\nHost: attiva\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        let n = stream
            .read(&mut byte)
            .unwrap_or_else(|e| panic!("waiting for 100 Continue: {e}"));
        assert_eq!(n, 1, "closed before 100 Continue: {interim:?}");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );

    server.terminate();
    server.wait_for_log("SIGTERM received", Duration::from_secs(10));
    // The body arrives after the signal, a byte at a time.
    for b in body {
        stream.write_all(&[*b]).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("reading the answer: {e}"));
    let (status, answer) = answer_of(&raw);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["channel"], "web", "{answer}");
    assert_eq!(answer["status"], "open", "{answer}");
    assert!(
        answer["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{answer}"
    );

    let status = server.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{:#?}", server.seen);
    server.wait_for_log("server stopped", Duration::from_secs(1));
}

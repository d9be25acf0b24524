//! The client address of a request, for throttling. It is the TCP peer,
//! unless the peer is a trusted reverse proxy (`ATTIVA_TRUSTED_PROXIES`):
//! then it is the right-most address of `X-Forwarded-For` (or, when that
//! header is absent, of `Forwarded: for=`) that is not a trusted proxy
//! itself. Anyone can send those headers, so from any other peer they are
//! ignored; and left of the first untrusted hop they are the client's own
//! words, so they are not read that far.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The networks whose peers may name the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts no peer: the forwarding headers are always ignored.
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// Comma-separated CIDRs; a bare address is that one host (/32, /128).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .map(|entry| {
                let parsed = if entry.contains('/') {
                    entry.parse::<IpNet>().ok()
                } else {
                    entry.parse::<IpAddr>().ok().map(IpNet::from)
                };
                parsed.map(|net| net.trunc()).ok_or_else(|| {
                    format!("{entry:?} is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address as text (`unknown` without a peer).
    pub fn client_address(&self, req: &HttpRequest) -> String {
        req.peer_addr().map_or_else(
            || "unknown".to_owned(),
            |peer| self.client(peer.ip(), req).to_string(),
        )
    }

    fn client(&self, peer: IpAddr, req: &HttpRequest) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let headers = req.headers();
        let hops = if headers.contains_key(X_FORWARDED_FOR) {
            forwarded_for(req)
        } else {
            forwarded(req)
        };
        // Right to left: each trusted hop vouches for the one before it.
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop else {
                // Unreadable: the hop that wrote it is the last one known.
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The hops of every `X-Forwarded-For` line, in order.
fn forwarded_for(req: &HttpRequest) -> Vec<Option<IpAddr>> {
    req.headers()
        .get_all(X_FORWARDED_FOR)
        .flat_map(|value| {
            value
                .to_str()
                .map_or_else(|_| vec![None], |text| text.split(',').map(node).collect())
        })
        .collect()
}

/// The `for=` of every element of every `Forwarded` line (RFC 7239), in
/// order; an element without one is an unreadable hop.
fn forwarded(req: &HttpRequest) -> Vec<Option<IpAddr>> {
    req.headers()
        .get_all(actix_web::http::header::FORWARDED)
        .flat_map(|value| {
            value.to_str().map_or_else(
                |_| vec![None],
                |text| {
                    text.split(',')
                        .map(|element| {
                            element
                                .split(';')
                                .find_map(|pair| {
                                    let (name, value) = pair.split_once('=')?;
                                    name.trim().eq_ignore_ascii_case("for").then_some(value)
                                })
                                .and_then(node)
                        })
                        .collect()
                },
            )
        })
        .collect()
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `"[2001:db8::1]:4711"`; anything else (`unknown`, `_hidden`) is None.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn proxies(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn from(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut request = TestRequest::default()
            .peer_addr(peer.parse().unwrap_or_else(|e| panic!("{peer}: {e}")));
        for (name, value) in headers {
            request = request.append_header((*name, *value));
        }
        request.to_http_request()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let request = from(
            "198.51.100.4:5000",
            &[
                ("x-forwarded-for", "203.0.113.7"),
                ("forwarded", "for=203.0.113.8"),
            ],
        );
        assert_eq!(
            TrustedProxies::none().client_address(&request),
            "198.51.100.4"
        );
        assert_eq!(
            proxies("10.0.0.0/8").client_address(&request),
            "198.51.100.4"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.1");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "10.0.0.2"),
            (&[("x-forwarded-for", "203.0.113.7")], "203.0.113.7"),
            // The client's own claim, left of what the proxy saw, is ignored.
            (
                &[("x-forwarded-for", "198.51.100.1, 203.0.113.7, 192.0.2.1")],
                "203.0.113.7",
            ),
            (
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-for", "203.0.113.7:4711"),
                ],
                "203.0.113.7",
            ),
            // All trusted: the left-most.
            (&[("x-forwarded-for", "10.9.9.9, 192.0.2.1")], "10.9.9.9"),
            // Unreadable: the hop that wrote it.
            (&[("x-forwarded-for", "unknown, 192.0.2.1")], "192.0.2.1"),
            (
                &[(
                    "forwarded",
                    "for=198.51.100.1, for=\"[2001:db8::17]:4711\";proto=https",
                )],
                "2001:db8::17",
            ),
            (&[("forwarded", "For=203.0.113.9")], "203.0.113.9"),
            // X-Forwarded-For, when present, is the header read.
            (
                &[
                    ("x-forwarded-for", "203.0.113.7"),
                    ("forwarded", "for=203.0.113.8"),
                ],
                "203.0.113.7",
            ),
        ];
        for (headers, client) in cases {
            let request = from("10.0.0.2:443", headers);
            assert_eq!(&trusted.client_address(&request), client, "{headers:?}");
        }
    }

    #[test]
    fn an_ipv4_mapped_peer_is_its_ipv4_address() {
        let request = from(
            "[::ffff:10.0.0.2]:443",
            &[("x-forwarded-for", "203.0.113.7")],
        );
        assert_eq!(
            proxies("10.0.0.0/8").client_address(&request),
            "203.0.113.7"
        );
        assert_eq!(TrustedProxies::none().client_address(&request), "10.0.0.2");
    }

    #[test]
    fn a_bad_entry_is_refused_with_its_text() {
        for bad in ["", "10.0.0.0/40", "localhost", "10.0.0.1/8/8"] {
            let error = TrustedProxies::parse(bad).err().unwrap_or_default();
            assert!(error.contains("not an IP address"), "{bad}: {error}");
        }
        assert_eq!(proxies("10.1.2.3/8"), proxies("10.0.0.0/8"));
    }
}

//! The client address of a request, for per-IP limits.
//!
//! Forwarding headers are written by whoever sends them, so they are believed only as far as a
//! chain of **configured trusted proxies** vouches for them:
//!
//! 1. a peer that is not a trusted proxy is the client, whatever headers it sent;
//! 2. otherwise the one configured header ([`ProxyHeader`]) is walked from right to left (the
//!    right-most entry was added by the nearest proxy), skipping trusted proxies; the first
//!    untrusted address is the client;
//! 3. an entry that cannot be parsed (or `unknown`, or an obfuscated identifier) where the walk
//!    needs it, an absent header, or a chain longer than the hop limit gives the peer address.
//!
//! Only one header is consulted: a proxy that appends to `X-Forwarded-For` passes a client's
//! `Forwarded` header through untouched, so reading both would let the client choose its address.

use std::collections::VecDeque;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::ConfigError;

/// The most forwarding entries walked before giving up and using the peer address.
pub const DEFAULT_MAX_HOPS: usize = 16;

/// Which forwarding header your trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"` (RFC 7239).
    Forwarded,
}

impl ProxyHeader {
    /// The header's name, lowercase.
    ///
    /// ```
    /// assert_eq!(agency_ratelimit::ProxyHeader::Forwarded.name(), "forwarded");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// Finds the client address from the peer address and, behind trusted proxies, one forwarding
/// header.
///
/// ```
/// use agency_ratelimit::{ClientIpResolver, ProxyHeader};
/// use std::net::IpAddr;
/// let resolver = ClientIpResolver::behind_proxies(&["10.0.0.0/8"], ProxyHeader::XForwardedFor).unwrap();
/// let proxy: IpAddr = "10.0.0.2".parse().unwrap();
/// let client = resolver.resolve(proxy, ["198.51.100.9, 10.0.0.7"]);
/// assert_eq!(client, "198.51.100.9".parse::<IpAddr>().unwrap());
///
/// // A client that talks to us directly cannot choose its address.
/// let attacker: IpAddr = "203.0.113.5".parse().unwrap();
/// assert_eq!(resolver.resolve(attacker, ["1.2.3.4"]), attacker);
///
/// // Without trusted proxies, headers are never read.
/// assert_eq!(ClientIpResolver::direct().resolve(proxy, ["198.51.100.9"]), proxy);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
    header: ProxyHeader,
    max_hops: usize,
}

impl ClientIpResolver {
    /// No trusted proxy: the peer address is always the client (the safe default, and the
    /// contract's `SWARM_TRUST_PROXY_HEADERS=false`).
    pub fn direct() -> Self {
        Self {
            trusted: Vec::new(),
            header: ProxyHeader::XForwardedFor,
            max_hops: DEFAULT_MAX_HOPS,
        }
    }

    /// Trusts the proxies in `cidrs` (addresses or networks such as `10.0.0.0/8`, `::1`) to
    /// write `header` truthfully.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidProxyNetwork`] naming the first entry that does not parse.
    pub fn behind_proxies<S: AsRef<str>>(
        cidrs: &[S],
        header: ProxyHeader,
    ) -> Result<Self, ConfigError> {
        let trusted = cidrs
            .iter()
            .map(|c| {
                let c = c.as_ref().trim();
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError::InvalidProxyNetwork(c.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            trusted,
            header,
            max_hops: DEFAULT_MAX_HOPS,
        })
    }

    /// Loopback and private networks (`127.0.0.0/8`, `10.0.0.0/8`, `172.16.0.0/12`,
    /// `192.168.0.0/16`, `::1/128`, `fc00::/7`): for a server that only ever sits behind its own
    /// reverse proxy on a private network. Anyone on those networks can then choose their address.
    ///
    /// ```
    /// use agency_ratelimit::{ClientIpResolver, ProxyHeader};
    /// let r = ClientIpResolver::private_networks(ProxyHeader::XForwardedFor);
    /// assert!(r.is_trusted("192.168.1.1".parse().unwrap()));
    /// assert!(!r.is_trusted("8.8.8.8".parse().unwrap()));
    /// ```
    pub fn private_networks(header: ProxyHeader) -> Self {
        let cidrs = [
            "127.0.0.0/8",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "::1/128",
            "fc00::/7",
        ];
        let trusted = cidrs.iter().filter_map(|c| c.parse().ok()).collect();
        Self {
            trusted,
            header,
            max_hops: DEFAULT_MAX_HOPS,
        }
    }

    /// The same resolver walking at most `max_hops` forwarding entries (at least 1).
    #[must_use]
    pub fn with_max_hops(mut self, max_hops: usize) -> Self {
        self.max_hops = max_hops.max(1);
        self
    }

    /// The header to pass to [`resolve`](Self::resolve), or `None` when no proxy is trusted
    /// (then no header needs reading at all).
    pub fn header(&self) -> Option<ProxyHeader> {
        (!self.trusted.is_empty()).then_some(self.header)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer`, given every value of the configured header
    /// (in the order received; pass an empty iterator when absent). Never panics, whatever the
    /// header holds.
    pub fn resolve<'a, I>(&self, peer: IpAddr, header_values: I) -> IpAddr
    where
        I: IntoIterator<Item = &'a str>,
    {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        // Walk right to left, parsing only the entries the walk reaches: memory stays
        // O(max_hops) whatever the header holds (a 64 KiB header of commas allocates nothing
        // in proportion).
        let values: Vec<&str> = header_values.into_iter().collect();
        let budget = self.max_hops + 1;
        let mut walked = 0usize;
        let mut client = peer;
        for value in values.iter().rev() {
            let parts = match self.header {
                ProxyHeader::XForwardedFor => last_parts(value.split(','), budget - walked),
                ProxyHeader::Forwarded => {
                    last_parts(split_outside_quotes(value, ','), budget - walked)
                }
            };
            for part in parts {
                walked += 1;
                if walked > self.max_hops {
                    // Every walked hop was trusted and more remain: do not guess.
                    return peer;
                }
                let entry = match self.header {
                    ProxyHeader::XForwardedFor => parse_xff_entry(part),
                    ProxyHeader::Forwarded => forwarded_element_for(part),
                };
                let Some(ip) = entry else { return peer };
                let ip = ip.to_canonical();
                if !self.is_trusted(ip) {
                    return ip;
                }
                client = ip;
            }
        }
        client
    }
}

/// The last `n` items of `parts`, right-most first, in O(n) memory.
fn last_parts<'a>(parts: impl Iterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let mut window = VecDeque::with_capacity(n + 1);
    for part in parts {
        window.push_back(part);
        if window.len() > n {
            window.pop_front();
        }
    }
    window.into_iter().rev().collect()
}

/// One `X-Forwarded-For` entry: an address, optionally `[v6]`, `[v6]:port` or `v4:port`.
fn parse_xff_entry(entry: &str) -> Option<IpAddr> {
    parse_node(entry.trim_matches([' ', '\t']))
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:443`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || is_port(after.strip_prefix(':')?)) {
            return None;
        }
        return inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = node.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// The most parameters accepted in one `Forwarded` element (RFC 7239 defines four).
const MAX_FORWARDED_PAIRS: usize = 16;

/// The `for` node of one `Forwarded` element (RFC 7239), `None` when the element has no usable
/// address (missing, duplicated, `unknown`, obfuscated, or malformed).
fn forwarded_element_for(element: &str) -> Option<IpAddr> {
    let mut found: Option<Option<IpAddr>> = None;
    for (n, pair) in split_outside_quotes(element, ';').enumerate() {
        if n >= MAX_FORWARDED_PAIRS {
            return None;
        }
        let pair = pair.trim_matches([' ', '\t']);
        if pair.is_empty() {
            continue;
        }
        let (name, raw) = pair.split_once('=')?;
        if !is_token(name) {
            return None;
        }
        if name.eq_ignore_ascii_case("for") {
            if found.is_some() {
                return None; // two `for` parameters in one element: ambiguous
            }
            found = Some(parse_node(&unquote(raw)?));
        } else {
            unquote(raw)?; // the element must be well-formed as a whole
        }
    }
    found.flatten()
}

/// Whether the quoted strings of `s` are all closed.
fn quotes_balanced(s: &str) -> bool {
    let mut in_quotes = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if in_quotes && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        }
    }
    !in_quotes
}

/// Splits on `sep` outside quoted strings, lazily.
///
/// When the quotes do not balance, splits on every `sep` instead: a proxy *appends* its element,
/// so an unbalanced quote can only come from the untrusted part on the left, and must not swallow
/// the proxy's element into a quoted string.
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let honour_quotes = quotes_balanced(s);
    let mut chars = s.char_indices();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        for (i, c) in chars.by_ref() {
            if honour_quotes {
                if escaped {
                    escaped = false;
                    continue;
                }
                if in_quotes && c == '\\' {
                    escaped = true;
                    continue;
                }
                if c == '"' {
                    in_quotes = !in_quotes;
                    continue;
                }
            }
            if c == sep && !in_quotes {
                let part = s.get(start..i).unwrap_or_default();
                start = i + c.len_utf8();
                return Some(part);
            }
        }
        done = true;
        Some(s.get(start..).unwrap_or_default())
    })
}

/// A token or a quoted-string's content; `None` when neither.
fn unquote(raw: &str) -> Option<String> {
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    } else if is_token(raw) {
        Some(raw.to_owned())
    } else {
        None
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff() -> ClientIpResolver {
        ClientIpResolver::behind_proxies(
            &["10.0.0.0/8", "2001:db8:ffff::/48"],
            ProxyHeader::XForwardedFor,
        )
        .unwrap()
    }

    fn fwd() -> ClientIpResolver {
        ClientIpResolver::behind_proxies(&["10.0.0.0/8"], ProxyHeader::Forwarded).unwrap()
    }

    #[test]
    fn spoofed_xff_from_an_untrusted_peer_is_ignored() {
        let attacker = ip("203.0.113.5");
        for header in ["1.1.1.1", "10.0.0.1", "1.1.1.1, 2.2.2.2", "garbage"] {
            assert_eq!(xff().resolve(attacker, [header]), attacker);
        }
    }

    #[test]
    fn spoofed_left_entries_behind_a_trusted_proxy_are_ignored() {
        // The attacker sends `X-Forwarded-For: 1.1.1.1`; the proxy appends the real address.
        let proxy = ip("10.0.0.2");
        assert_eq!(
            xff().resolve(proxy, ["1.1.1.1, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Also when the attacker's part and the proxy's part arrive as separate header lines.
        assert_eq!(
            xff().resolve(proxy, ["1.1.1.1", "198.51.100.7"]),
            ip("198.51.100.7")
        );
        // And when the attacker pretends to be a trusted proxy itself.
        assert_eq!(
            xff().resolve(proxy, ["1.1.1.1, 10.9.9.9, 198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked() {
        let proxy = ip("10.0.0.2");
        assert_eq!(
            xff().resolve(proxy, ["198.51.100.7, 10.1.1.1, 10.2.2.2"]),
            ip("198.51.100.7")
        );
        // Everyone trusted: the left-most (an internal client).
        assert_eq!(xff().resolve(proxy, ["10.3.3.3, 10.1.1.1"]), ip("10.3.3.3"));
    }

    #[test]
    fn malformed_or_absent_headers_fall_back_to_the_peer() {
        let proxy = ip("10.0.0.2");
        for header in [
            "",
            "not-an-ip",
            "1.2.3.4.5",
            "198.51.100.7,",
            "[::1",
            "1.2.3.4:99999",
            "unknown",
        ] {
            assert_eq!(xff().resolve(proxy, [header]), proxy, "{header:?}");
        }
        assert_eq!(xff().resolve(proxy, std::iter::empty()), proxy);
    }

    #[test]
    fn ports_and_brackets_are_accepted_in_xff() {
        let proxy = ip("10.0.0.2");
        assert_eq!(
            xff().resolve(proxy, ["198.51.100.7:5555"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            xff().resolve(proxy, ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
        assert_eq!(xff().resolve(proxy, [" 2001:db8::1 "]), ip("2001:db8::1"));
    }

    #[test]
    fn a_huge_header_is_walked_in_bounded_memory_and_still_resolved() {
        // 200,000 spoofed entries before the one the proxy appended.
        let proxy = ip("10.0.0.2");
        let header = format!("{}198.51.100.7", "1.1.1.1,".repeat(200_000));
        assert_eq!(xff().resolve(proxy, [header.as_str()]), ip("198.51.100.7"));
        let header = format!("{}for=198.51.100.7", "for=1.1.1.1,".repeat(200_000));
        assert_eq!(fwd().resolve(proxy, [header.as_str()]), ip("198.51.100.7"));
        let many_pairs = format!("for=198.51.100.7{}", ";a=b".repeat(100));
        assert_eq!(fwd().resolve(proxy, [many_pairs.as_str()]), proxy);
    }

    #[test]
    fn too_long_a_chain_of_trusted_hops_falls_back_to_the_peer() {
        let proxy = ip("10.0.0.2");
        let header = vec!["10.0.0.9"; 40].join(",");
        assert_eq!(xff().resolve(proxy, [header.as_str()]), proxy);
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_against_ipv4_networks() {
        assert_eq!(
            xff().resolve(ip("::ffff:10.0.0.2"), ["198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_header_is_parsed_per_rfc_7239() {
        let proxy = ip("10.0.0.2");
        let r = fwd();
        assert_eq!(
            r.resolve(proxy, ["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            ip("192.0.2.60")
        );
        assert_eq!(
            r.resolve(proxy, [r#"for="[2001:db8:cafe::17]:4711""#]),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            r.resolve(proxy, ["For=\"192.0.2.43:47011\", for=10.1.1.1"]),
            ip("192.0.2.43")
        );
        assert_eq!(
            r.resolve(proxy, ["for=1.1.1.1", "for=198.51.100.7;proto=https"]),
            ip("198.51.100.7")
        );
        // A quoted comma does not split elements.
        assert_eq!(
            r.resolve(proxy, [r#"for=198.51.100.7;ext="a,b""#]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn an_unbalanced_quote_in_the_spoofed_part_cannot_swallow_the_proxy_element() {
        let proxy = ip("10.0.0.2");
        assert_eq!(
            fwd().resolve(proxy, [r#"for="1.1.1.1, for=198.51.100.7"#]),
            ip("198.51.100.7")
        );
        assert_eq!(
            fwd().resolve(proxy, [r#"x="a\", for="[2001:db8::7]""#]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn unusable_forwarded_elements_fall_back_to_the_peer() {
        let proxy = ip("10.0.0.2");
        for header in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=1.1.1.1;for=2.2.2.2",
            "for=\"198.51.100.7",
            "for=[2001:db8::1]", // IPv6 must be quoted: not a token
            "for",
            "=1.2.3.4",
        ] {
            assert_eq!(fwd().resolve(proxy, [header]), proxy, "{header:?}");
        }
    }

    #[test]
    fn spoofed_forwarded_header_is_ignored_when_the_proxy_writes_xff() {
        // The proxy appends to X-Forwarded-For and passes Forwarded through: the resolver reads
        // only the configured header, so the attacker's Forwarded never reaches it.
        let r = xff();
        assert_eq!(r.header(), Some(ProxyHeader::XForwardedFor));
        assert_eq!(
            r.resolve(ip("10.0.0.2"), ["198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(ClientIpResolver::direct().header(), None);
    }

    #[test]
    fn bad_cidrs_are_rejected() {
        assert!(matches!(
            ClientIpResolver::behind_proxies(&["10.0.0.0/33"], ProxyHeader::Forwarded),
            Err(ConfigError::InvalidProxyNetwork(_))
        ));
        assert!(
            ClientIpResolver::behind_proxies(&["192.0.2.1", "::1"], ProxyHeader::Forwarded).is_ok()
        );
    }

    fn arb_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ]
    }

    fn untrusted_ip() -> impl Strategy<Value = IpAddr> {
        arb_ip().prop_filter("untrusted", |ip| !xff().is_trusted(*ip))
    }

    proptest! {
        #[test]
        fn parsers_never_panic(peer in arb_ip(), a in ".{0,80}", b in "[0-9a-fA-F:.,;=\"\\[\\] forFOR_-]{0,80}") {
            for r in [xff(), fwd(), ClientIpResolver::private_networks(ProxyHeader::Forwarded)] {
                let _ = r.resolve(peer, [a.as_str(), b.as_str()]);
            }
        }

        #[test]
        fn untrusted_peer_is_always_the_client(peer in untrusted_ip(), a in ".{0,80}", b in "[0-9a-f:., for=\"]{0,80}") {
            prop_assert_eq!(xff().resolve(peer, [a.as_str(), b.as_str()]), peer.to_canonical());
            prop_assert_eq!(fwd().resolve(peer, [a.as_str(), b.as_str()]), peer.to_canonical());
        }

        #[test]
        fn client_prefix_cannot_override_what_the_trusted_proxy_appended(
            spoof in ".{0,80}", client in untrusted_ip()
        ) {
            let proxy = ip("10.0.0.2");
            let xff_value = format!("{spoof}, {client}");
            prop_assert_eq!(xff().resolve(proxy, [xff_value.as_str()]), client.to_canonical());
            // As separate header lines too (the spoofed one may be anything, even unbalanced quotes).
            let node = match client { IpAddr::V6(v6) => format!("\"[{v6}]\""), IpAddr::V4(v4) => v4.to_string() };
            let fwd_value = format!("for={node}");
            prop_assert_eq!(fwd().resolve(proxy, [spoof.as_str(), fwd_value.as_str()]), client.to_canonical());
            // And on one line, as a proxy appending to the client's header writes it.
            let one_line = format!("{spoof}, {fwd_value}");
            prop_assert_eq!(fwd().resolve(proxy, [one_line.as_str()]), client.to_canonical());
        }
    }
}

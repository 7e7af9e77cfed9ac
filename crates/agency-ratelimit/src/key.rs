//! Rate-limit keys: who is being counted.
//!
//! Every key is namespaced by kind (`ip:`, `p:`, `k:`, ...), so a principal whose id happens to
//! look like an IP address can never share a bucket with that address. Composite keys encode
//! their parts unambiguously. Keys may be personal data (addresses, usernames): backends never log
//! them and store them only hashed.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The IPv6 prefix length that [`RateLimitKey::ip`] keys on: one customer usually holds a whole
/// /64, so keying on full IPv6 addresses would hand an attacker 2^64 fresh buckets.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// A rate-limit key.
///
/// ```
/// use agency_ratelimit::RateLimitKey;
/// use std::net::IpAddr;
/// let ip: IpAddr = "203.0.113.7".parse().unwrap();
/// assert_eq!(RateLimitKey::ip(ip).as_str(), "ip:203.0.113.7");
/// assert_eq!(RateLimitKey::principal("u-1").as_str(), "p:u-1");
/// assert_eq!(RateLimitKey::login(ip, "  Alice ").as_str(), "login:203.0.113.7|alice");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RateLimitKey(String);

impl fmt::Debug for RateLimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are identifiers, not secrets (an API key *id*, never the key itself).
        f.debug_tuple("RateLimitKey").field(&self.0).finish()
    }
}

impl RateLimitKey {
    /// A client address. IPv4-mapped IPv6 addresses become IPv4 (a dual-stack socket reports
    /// IPv4 clients that way); IPv6 addresses are reduced to their /64
    /// ([`DEFAULT_IPV6_PREFIX`]).
    ///
    /// ```
    /// use agency_ratelimit::RateLimitKey;
    /// let a = RateLimitKey::ip("2001:db8:1:2:aaaa::1".parse().unwrap());
    /// let b = RateLimitKey::ip("2001:db8:1:2:bbbb::9".parse().unwrap());
    /// assert_eq!(a, b);
    /// assert_eq!(a.as_str(), "ip:2001:db8:1:2::/64");
    /// let mapped = RateLimitKey::ip("::ffff:192.0.2.1".parse().unwrap());
    /// assert_eq!(mapped.as_str(), "ip:192.0.2.1");
    /// ```
    pub fn ip(ip: IpAddr) -> Self {
        Self::ip_with_v6_prefix(ip, DEFAULT_IPV6_PREFIX)
    }

    /// A client address with an explicit IPv6 prefix length (clamped to 1..=128).
    ///
    /// ```
    /// use agency_ratelimit::RateLimitKey;
    /// let k = RateLimitKey::ip_with_v6_prefix("2001:db8::1".parse().unwrap(), 128);
    /// assert_eq!(k.as_str(), "ip:2001:db8::1");
    /// ```
    pub fn ip_with_v6_prefix(ip: IpAddr, v6_prefix: u8) -> Self {
        Self(format!("ip:{}", ip_key_text(ip, v6_prefix)))
    }

    /// An authenticated principal (user id, service id).
    pub fn principal(id: &str) -> Self {
        Self(format!("p:{id}"))
    }

    /// An API key, by its *id* (never the secret key).
    ///
    /// ```
    /// assert_eq!(agency_ratelimit::RateLimitKey::api_key("k1").as_str(), "k:k1");
    /// ```
    pub fn api_key(id: &str) -> Self {
        Self(format!("k:{id}"))
    }

    /// An inbound webhook source.
    ///
    /// ```
    /// assert_eq!(agency_ratelimit::RateLimitKey::webhook_source("s1").as_str(), "w:s1");
    /// ```
    pub fn webhook_source(id: &str) -> Self {
        Self(format!("w:{id}"))
    }

    /// Login attempts from one address for one account: the address (as in [`ip`](Self::ip))
    /// and the [normalized](normalize_username) username, so `Alice` and ` alice` count together.
    pub fn login(ip: IpAddr, username: &str) -> Self {
        Self(format!(
            "login:{}|{}",
            ip_key_text(ip, DEFAULT_IPV6_PREFIX),
            normalize_username(username)
        ))
    }

    /// Login attempts for one account from anywhere (for "at most 100 failed logins an hour,
    /// whatever the IP").
    ///
    /// ```
    /// use agency_ratelimit::RateLimitKey;
    /// assert_eq!(RateLimitKey::account("Bob"), RateLimitKey::account(" BOB"));
    /// ```
    pub fn account(username: &str) -> Self {
        Self(format!("acct:{}", normalize_username(username)))
    }

    /// A key of your own: a namespace and parts, encoded with their lengths so that no two
    /// different part lists give the same key.
    ///
    /// ```
    /// use agency_ratelimit::RateLimitKey;
    /// let a = RateLimitKey::composite("tenant-user", &["t1", "u:2"]);
    /// let b = RateLimitKey::composite("tenant-user", &["t1:u", "2"]);
    /// assert_ne!(a, b);
    /// assert_eq!(a.as_str(), "c:11:tenant-user:2:t1,3:u:2");
    /// ```
    pub fn composite(namespace: &str, parts: &[&str]) -> Self {
        let mut key = format!("c:{}:{namespace}:", namespace.len());
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            key.push_str(&part.len().to_string());
            key.push(':');
            key.push_str(part);
        }
        Self(key)
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Username normalization for login keys: surrounding whitespace trimmed, Unicode lowercase.
/// Use the same normalization as your login lookup (or a stricter one), or an attacker can spread
/// attempts on one account over many spellings.
///
/// ```
/// assert_eq!(agency_ratelimit::key::normalize_username("  ÄDMIN\t"), "ädmin");
/// ```
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

fn ip_key_text(ip: IpAddr, v6_prefix: u8) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = v6_prefix.clamp(1, 128);
            if prefix == 128 {
                v6.to_string()
            } else {
                let mask = u128::MAX << (128 - u32::from(prefix));
                format!("{}/{prefix}", Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv4_mapped_addresses_are_not_lumped_together() {
        // Attack on naive /64 masking: every IPv4 client of a dual-stack socket would share
        // ::ffff:0:0/64, so one client could exhaust everyone's limit.
        let a = RateLimitKey::ip("::ffff:198.51.100.1".parse().unwrap());
        let b = RateLimitKey::ip("::ffff:198.51.100.2".parse().unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn rotating_ipv6_addresses_inside_a_64_does_not_give_fresh_buckets() {
        let keys: std::collections::HashSet<_> = (0..100u16)
            .map(|i| RateLimitKey::ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, i, i, i, i))))
            .collect();
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn principal_named_like_an_ip_does_not_share_the_ip_bucket() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_ne!(
            RateLimitKey::principal("ip:192.0.2.1").as_str(),
            RateLimitKey::ip(ip).as_str()
        );
        assert_ne!(
            RateLimitKey::principal("192.0.2.1"),
            RateLimitKey::api_key("192.0.2.1")
        );
    }

    #[test]
    fn username_case_and_spacing_variants_share_the_login_bucket() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            RateLimitKey::login(ip, "Admin"),
            RateLimitKey::login(ip, " admin ")
        );
        assert_eq!(
            RateLimitKey::login(ip, "ADMIN"),
            RateLimitKey::login(ip, "admin")
        );
    }

    proptest! {
        #[test]
        fn composite_keys_are_injective(
            ns1 in ".{0,6}", ns2 in ".{0,6}",
            a in proptest::collection::vec(".{0,5}", 0..4),
            b in proptest::collection::vec(".{0,5}", 0..4),
        ) {
            let ka = RateLimitKey::composite(&ns1, &a.iter().map(String::as_str).collect::<Vec<_>>());
            let kb = RateLimitKey::composite(&ns2, &b.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(ka == kb, ns1 == ns2 && a == b);
        }
    }
}

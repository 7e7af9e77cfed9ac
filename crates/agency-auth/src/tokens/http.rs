//! An HTTPS [`JwksFetcher`] (feature `jwks-http`, reqwest with rustls).
//!
//! Guarantees: only the URL given at construction is ever requested; it must be `https://`
//! (plain `http://` only to `localhost`, `127.0.0.1` or `[::1]`, and only when explicitly
//! allowed, for tests); redirects are not followed; every request has a timeout; a response
//! larger than the size limit is refused without being buffered whole.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::error::KeyError;
use super::remote::{JwksFetchError, JwksFetcher};

/// Default request timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default response-size limit (JWKS documents are a few KiB).
const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// Fetches a provider's JWKS over HTTPS.
///
/// ```
/// use agency_auth::tokens::HttpJwksFetcher;
///
/// let fetcher = HttpJwksFetcher::builder("https://tenant.eu.auth0.com/.well-known/jwks.json").build().unwrap();
/// # let _ = fetcher;
/// assert!(HttpJwksFetcher::builder("http://idp.example/jwks.json").build().is_err());
/// ```
#[derive(Clone)]
pub struct HttpJwksFetcher {
    client: reqwest::Client,
    url: reqwest::Url,
    max_bytes: usize,
}

impl fmt::Debug for HttpJwksFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpJwksFetcher")
            .field("url", &self.url.as_str())
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Configures an [`HttpJwksFetcher`].
///
/// ```
/// use std::time::Duration;
/// use agency_auth::tokens::HttpJwksFetcher;
///
/// let fetcher = HttpJwksFetcher::builder("https://project.supabase.co/auth/v1/.well-known/jwks.json")
///     .timeout(Duration::from_secs(3))
///     .max_response_bytes(32 * 1024)
///     .build()
///     .unwrap();
/// # let _ = fetcher;
/// ```
#[derive(Debug, Clone)]
pub struct HttpJwksFetcherBuilder {
    url: String,
    timeout: Duration,
    max_bytes: usize,
    allow_http_localhost: bool,
}

impl HttpJwksFetcher {
    /// Starts configuring a fetcher for `url` (timeout 5 s, limit 64 KiB).
    ///
    /// ```
    /// let builder = agency_auth::tokens::HttpJwksFetcher::builder("https://idp.example/jwks.json");
    /// assert!(builder.build().is_ok());
    /// ```
    pub fn builder(url: impl Into<String>) -> HttpJwksFetcherBuilder {
        HttpJwksFetcherBuilder {
            url: url.into(),
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            allow_http_localhost: false,
        }
    }
}

impl HttpJwksFetcherBuilder {
    /// Whole-request timeout (connect, headers and body).
    ///
    /// ```
    /// let b = agency_auth::tokens::HttpJwksFetcher::builder("https://idp.example/j").timeout(std::time::Duration::from_secs(1));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest response body accepted, in bytes.
    ///
    /// ```
    /// let b = agency_auth::tokens::HttpJwksFetcher::builder("https://idp.example/j").max_response_bytes(4096);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn max_response_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Allows a plain `http://` URL whose host is `localhost`, `127.0.0.1` or `[::1]` (for tests
    /// against a local server). Other plain-HTTP URLs stay refused.
    ///
    /// ```
    /// use agency_auth::tokens::HttpJwksFetcher;
    /// let local = HttpJwksFetcher::builder("http://127.0.0.1:8080/jwks.json").allow_plain_http_for_localhost(true);
    /// assert!(local.build().is_ok());
    /// let remote = HttpJwksFetcher::builder("http://idp.example/jwks.json").allow_plain_http_for_localhost(true);
    /// assert!(remote.build().is_err());
    /// ```
    pub fn allow_plain_http_for_localhost(mut self, allow: bool) -> Self {
        self.allow_http_localhost = allow;
        self
    }

    /// Checks the URL and builds the HTTP client.
    ///
    /// ```
    /// assert!(agency_auth::tokens::HttpJwksFetcher::builder("not a url").build().is_err());
    /// ```
    pub fn build(self) -> Result<HttpJwksFetcher, KeyError> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|_| KeyError::InvalidConfig("JWKS URL is not a URL"))?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        let plain_http_ok = self.allow_http_localhost && local && url.scheme() == "http";
        if url.scheme() != "https" && !plain_http_ok {
            return Err(KeyError::InvalidConfig("JWKS URL must use https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(KeyError::InvalidConfig(
                "JWKS URL must not carry credentials",
            ));
        }
        if self.max_bytes == 0 || self.timeout.is_zero() {
            return Err(KeyError::InvalidConfig(
                "JWKS timeout and size limit must be positive",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!plain_http_ok)
            .build()
            .map_err(|_| KeyError::InvalidConfig("JWKS HTTP client could not be built"))?;
        Ok(HttpJwksFetcher {
            client,
            url,
            max_bytes: self.max_bytes,
        })
    }
}

#[async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| JwksFetchError(format!("request failed: {}", e.without_url())))?;
        if !response.status().is_success() {
            return Err(JwksFetchError(format!(
                "status {}",
                response.status().as_u16()
            )));
        }
        let too_large = || JwksFetchError(format!("response larger than {} bytes", self.max_bytes));
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JwksFetchError(format!("body failed: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

//! api_keys (in progress).

-- agency-auth initial schema (SQLite). Timestamps are unix microseconds, UTC.

CREATE TABLE auth_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    -- Unique across the deployment: a login names only a username.
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX auth_users_by_tenant ON auth_users (tenant_id, created_at, id);

CREATE TABLE auth_sessions (
    id                TEXT    NOT NULL PRIMARY KEY,
    user_id           TEXT    NOT NULL,
    tenant_id         TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    last_refreshed_at INTEGER NOT NULL,
    idle_expires_at   INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    generation        INTEGER NOT NULL CHECK (generation >= 0),
    revoked_at        INTEGER,
    revoke_reason     TEXT
) STRICT;

CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id, created_at, id);
CREATE INDEX auth_sessions_by_expiry ON auth_sessions (expires_at);

CREATE TABLE auth_refresh_tokens (
    -- SHA-256 of the token; the token itself is never stored.
    token_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id TEXT    NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL CHECK (generation >= 0),
    issued_at  INTEGER NOT NULL,
    rotated_at INTEGER
) STRICT;

CREATE INDEX auth_refresh_tokens_by_session ON auth_refresh_tokens (session_id);

CREATE TABLE auth_api_keys (
    id               TEXT    NOT NULL PRIMARY KEY,
    owner_id         TEXT    NOT NULL,
    tenant_id        TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    -- JSON array of permission names.
    scopes           TEXT    NOT NULL,
    -- Keyed hash of the secret part; the key itself is never stored.
    secret_hash      BLOB    NOT NULL,
    hash_key_version INTEGER NOT NULL CHECK (hash_key_version >= 0),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    revoked_at       INTEGER,
    last_used_at     INTEGER
) STRICT;

CREATE INDEX auth_api_keys_by_owner ON auth_api_keys (owner_id, created_at, id);

CREATE TABLE auth_revocations (
    kind           TEXT    NOT NULL CHECK (kind IN ('session', 'token', 'user')),
    -- Session id, token id (jti) or user id, by kind.
    subject        TEXT    NOT NULL,
    -- For kind 'user': tokens issued strictly before this instant are revoked.
    revoked_before INTEGER,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (kind, subject),
    CHECK ((kind = 'user') = (revoked_before IS NOT NULL))
) STRICT;

CREATE INDEX auth_revocations_by_expiry ON auth_revocations (expires_at);

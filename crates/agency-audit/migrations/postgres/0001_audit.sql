-- agency-audit events and checkpoints (PostgreSQL).
-- Old/new values are canonical JSON *text*, not jsonb: jsonb would reorder keys and normalise
-- numbers, and the stored text must hash exactly as it was written.
CREATE TABLE IF NOT EXISTS audit_events (
    stream_id     UUID        NOT NULL,
    seq           BIGINT      NOT NULL,
    hash          BYTEA       NOT NULL,
    id            UUID        NOT NULL,
    ts            TIMESTAMPTZ NOT NULL,
    actor_id      TEXT,
    actor         TEXT,
    actor_kind    TEXT        NOT NULL,
    tenant_id     TEXT,
    action        TEXT        NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    old_value     TEXT,
    new_value     TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    success       BOOLEAN     NOT NULL,
    error_message TEXT,
    request_id    TEXT,
    PRIMARY KEY (stream_id, seq)
);

CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (ts, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant_time ON audit_events (tenant_id, ts, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant_actor ON audit_events (tenant_id, actor_id, ts, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant_action ON audit_events (tenant_id, action, ts, id);
CREATE INDEX IF NOT EXISTS audit_events_tenant_resource ON audit_events (tenant_id, resource_type, resource_id, ts, id);

CREATE TABLE IF NOT EXISTS audit_checkpoints (
    pos       BIGSERIAL   PRIMARY KEY,
    kind      TEXT        NOT NULL,
    stream_id UUID        NOT NULL,
    seq       BIGINT      NOT NULL,
    hash      BYTEA       NOT NULL,
    time      TIMESTAMPTZ NOT NULL,
    alg       TEXT        NOT NULL,
    signature TEXT        NOT NULL
);

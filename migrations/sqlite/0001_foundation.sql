-- Foundation: jurisdictions, staff accounts, role grants, sessions and the audit log.
-- Timestamps are UTC, stored by sqlx as ISO-8601 text; dates as 'YYYY-MM-DD'.

-- Administrative units as versioned reference data. A reform (merging wards, say) closes the old
-- rows with valid_to and adds new ones: it never needs a code change.
CREATE TABLE jurisdictions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT    NOT NULL,                       -- official administrative code
    kind          TEXT    NOT NULL,                       -- 'city', 'district', 'ward', ... (data, not an enum)
    parent_id     INTEGER REFERENCES jurisdictions (id),  -- the unit this one belongs to; NULL at the top
    name_vi       TEXT    NOT NULL,                       -- name in Vietnamese
    name_en       TEXT    NOT NULL,                       -- name in English
    boundary      TEXT,                                   -- GeoJSON geometry (Polygon or MultiPolygon, WGS 84)
    source_note   TEXT    NOT NULL DEFAULT '',            -- provenance and accuracy of this row
    valid_from    TEXT    NOT NULL,                       -- first day this unit exists
    valid_to      TEXT,                                   -- first day it no longer exists; NULL while current
    UNIQUE (code, valid_from)
);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id);

-- Staff accounts and machine accounts (kiosks).
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT    NOT NULL UNIQUE,               -- login name, lower case
    display_name   TEXT    NOT NULL,                      -- shown in the UI and the audit log
    kind           TEXT    NOT NULL,                      -- 'person' or 'device'
    password_hash  TEXT    NOT NULL,                      -- argon2id PHC string
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,        -- a disabled account cannot log in; its sessions end
    failed_logins  INTEGER NOT NULL DEFAULT 0,            -- consecutive failed logins since the last success
    locked_until   TEXT,                                  -- logins refused until then (lock-out)
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- What a user may do, and where: a grant on a district covers its wards.
CREATE TABLE role_grants (
    user_id          INTEGER NOT NULL REFERENCES users (id),
    role             TEXT    NOT NULL,                    -- a role name known to the code (access control)
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    PRIMARY KEY (user_id, role, jurisdiction_id)
);

-- Login sessions: browser cookies and bearer tokens. Only hashes of the secrets are kept.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT    NOT NULL UNIQUE,                -- SHA-256 of the session token, hex
    csrf_hash     TEXT,                                   -- SHA-256 of the CSRF token (cookie sessions only)
    user_id       INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL,                       -- 'cookie' or 'bearer'
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    revoked_at    TEXT                                    -- set at logout or when the account is disabled
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The audit log: every state change and every read of personal data. Append-only and
-- hash-chained: each row's hash is an HMAC over its fields and the previous row's hash.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,                     -- 1, 2, 3, ... without gaps
    at           TEXT    NOT NULL,                        -- when (UTC, RFC 3339, microseconds)
    actor_id     INTEGER,                                 -- users.id; NULL for the system or anonymous callers
    actor        TEXT    NOT NULL,                        -- username, 'system' or 'anonymous'
    action       TEXT    NOT NULL,                        -- what happened, e.g. 'user.create'
    object_type  TEXT    NOT NULL,                        -- what it happened to
    object_id    TEXT    NOT NULL,
    detail       TEXT    NOT NULL,                        -- JSON with no personal data values
    source       TEXT    NOT NULL,                        -- where from: client address, or 'cli'
    prev_hash    TEXT    NOT NULL,                        -- hash of row seq - 1 (zeros for the first)
    hash         TEXT    NOT NULL                         -- HMAC-SHA256 of this row, hex
);

-- The newest row of the chain, authenticated, so that removing rows from the end is detected.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,                               -- seq of the newest row
    hash  TEXT    NOT NULL,                               -- its hash
    mac   TEXT    NOT NULL                                -- HMAC over (seq, hash)
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

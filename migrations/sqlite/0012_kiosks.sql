-- Street kiosks as a fleet: what each kiosk last said of itself (heartbeat), the settings the
-- operators give it, a screenshot on request; and the calls a kiosk makes to the officer on duty.

CREATE TABLE kiosks (
    user_id                  INTEGER PRIMARY KEY REFERENCES users (id),   -- the kiosk's machine account
    idle_seconds             INTEGER NOT NULL DEFAULT 90,
    languages                TEXT    NOT NULL DEFAULT 'vi,en',            -- offered, the first is the default
    lon                      REAL,                                        -- where it stands, if set remotely
    lat                      REAL,
    version                  TEXT,
    started_at               TEXT,                                        -- from the uptime it reported
    printer                  TEXT,                                        -- none, ready, no_paper, offline
    network                  TEXT,
    last_seen_at             TEXT,
    screenshot_requested_at  TEXT,
    screenshot               BLOB,                                        -- PNG
    screenshot_at            TEXT,
    updated_at               TEXT    NOT NULL
);

CREATE TABLE kiosk_calls (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id         INTEGER NOT NULL REFERENCES users (id),
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    status           TEXT    NOT NULL CHECK (status IN ('ringing', 'answered', 'ended', 'missed')),
    officer_id       INTEGER REFERENCES users (id),
    created_at       TEXT    NOT NULL,
    answered_at      TEXT,
    ended_at         TEXT
);
CREATE INDEX kiosk_calls_kiosk ON kiosk_calls (kiosk_id, created_at);
CREATE INDEX kiosk_calls_live ON kiosk_calls (status) WHERE status IN ('ringing', 'answered');

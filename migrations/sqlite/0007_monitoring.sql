-- Monitoring: sensors (any numeric series: temperature, humidity, a door, air quality, flood
-- level) with their thresholds, their readings, and the alerts the console works through.

CREATE TABLE sensors (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL UNIQUE,                    -- what the device reports as
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,                           -- temperature, humidity, door, …
    unit             TEXT NOT NULL,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    lon              REAL,
    lat              REAL,
    low              REAL,                                  -- an alert below this
    high             REAL,                                  -- an alert above this
    severity         TEXT NOT NULL CHECK (severity IN ('informational', 'low', 'medium', 'high', 'critical')),
    last_value       REAL,
    last_at          TEXT,
    created_at       TEXT NOT NULL
);

CREATE TABLE sensor_readings (
    sensor_id  INTEGER NOT NULL REFERENCES sensors (id),
    at         TEXT NOT NULL,
    value      REAL NOT NULL,
    PRIMARY KEY (sensor_id, at)
);

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,                           -- sensor_threshold, …
    severity         TEXT NOT NULL CHECK (severity IN ('informational', 'low', 'medium', 'high', 'critical')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    source_type      TEXT NOT NULL,                           -- sensor, …
    source_id        INTEGER NOT NULL,
    condition        TEXT NOT NULL,                           -- high, low, …
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    title            TEXT NOT NULL,
    value            REAL,
    raised_at        TEXT NOT NULL,
    cleared_at       TEXT,                                    -- the condition ended (the alert stays until resolved)
    acknowledged_at  TEXT,
    acknowledged_by  INTEGER REFERENCES users (id),
    assignee_id      INTEGER REFERENCES users (id),
    resolved_at      TEXT,
    resolved_by      INTEGER REFERENCES users (id),
    note             TEXT,
    updated_at       TEXT NOT NULL
);
-- One alert at a time for a source's condition, until it is resolved.
CREATE UNIQUE INDEX alerts_live ON alerts (source_type, source_id, condition) WHERE status <> 'resolved';
CREATE INDEX alerts_status ON alerts (status, raised_at);

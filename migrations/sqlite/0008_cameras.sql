-- Street cameras: where each stands and looks, and how to reach its RTSP stream. The stream's
-- URL may carry a user name and password, so it is kept sealed (AES-GCM) and only its host and
-- path, without credentials, are kept in the clear for people to see.

CREATE TABLE cameras (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    lon              REAL,
    lat              REAL,
    heading          REAL,                                    -- degrees clockwise from north
    source_sealed    BLOB NOT NULL,                           -- the RTSP URL, credentials included
    source_shown     TEXT NOT NULL,                           -- the same without credentials
    transport        TEXT NOT NULL CHECK (transport IN ('tcp', 'udp')),
    enabled          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX cameras_unit ON cameras (jurisdiction_id);

-- How each relayed camera is doing, as its ingest last reported: one row per camera.
CREATE TABLE camera_health (
    camera_id         INTEGER PRIMARY KEY REFERENCES cameras (id),
    state             TEXT NOT NULL CHECK (state IN ('connecting', 'up', 'down')),
    since             TEXT NOT NULL,                          -- in this state since
    checked_at        TEXT NOT NULL,
    fps               REAL NOT NULL,
    bitrate           REAL NOT NULL,                          -- bits a second
    width             INTEGER,
    height            INTEGER,
    last_keyframe_at  TEXT,
    fault             TEXT                                    -- why it is down, by kind
);

-- Footage: whether and when each camera is recorded, how long its segments are kept, and the
-- segment files written (fragmented MP4 under the footage folder).
ALTER TABLE cameras ADD COLUMN recording TEXT NOT NULL DEFAULT 'continuous'
    CHECK (recording IN ('off', 'continuous', 'scheduled'));
ALTER TABLE cameras ADD COLUMN schedule TEXT;                      -- 'HH:MM-HH:MM', Vietnam time
ALTER TABLE cameras ADD COLUMN retention_hours BIGINT NOT NULL DEFAULT 168;

CREATE TABLE camera_segments (
    id          BIGSERIAL PRIMARY KEY,
    camera_id   BIGINT NOT NULL REFERENCES cameras (id),
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ NOT NULL,
    path        TEXT NOT NULL UNIQUE,                  -- relative to the footage folder
    bytes       BIGINT NOT NULL,
    frames      BIGINT NOT NULL
);
CREATE INDEX camera_segments_by_time ON camera_segments (camera_id, started_at);
CREATE INDEX camera_segments_by_age ON camera_segments (started_at);

-- What counting saw on each camera, minute by minute and kind by kind (people and vehicles).
CREATE TABLE camera_counts (
    camera_id  BIGINT NOT NULL REFERENCES cameras (id),
    minute     TIMESTAMPTZ NOT NULL,                               -- the minute's start
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck')),
    frames     BIGINT NOT NULL,                             -- frames analysed in the minute
    in_view    BIGINT NOT NULL,                             -- objects in view, summed over those frames
    peak       BIGINT NOT NULL,                             -- the most in view at once
    appeared   BIGINT NOT NULL,                             -- objects seen for the first time
    PRIMARY KEY (camera_id, minute, kind)
);

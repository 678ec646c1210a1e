-- What counting saw on each camera, minute by minute and kind by kind (people and vehicles).
CREATE TABLE camera_counts (
    camera_id  INTEGER NOT NULL REFERENCES cameras (id),
    minute     TEXT NOT NULL,                                -- the minute's start
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck')),
    frames     INTEGER NOT NULL,                             -- frames analysed in the minute
    in_view    INTEGER NOT NULL,                             -- objects in view, summed over those frames
    peak       INTEGER NOT NULL,                             -- the most in view at once
    appeared   INTEGER NOT NULL,                             -- objects seen for the first time
    PRIMARY KEY (camera_id, minute, kind)
);

-- Counting areas: each camera's zones and lines (JSON, as the API gives them: name, shape,
-- points as fractions of the picture, crowd threshold), and what counting saw in each of them,
-- minute by minute and kind by kind.
ALTER TABLE cameras ADD COLUMN areas TEXT NOT NULL DEFAULT '[]';

CREATE TABLE camera_area_counts (
    camera_id  BIGINT NOT NULL REFERENCES cameras (id),
    area       TEXT NOT NULL,                                      -- the area's name
    minute     TIMESTAMPTZ NOT NULL,                               -- the minute's start
    kind       TEXT NOT NULL CHECK (kind IN ('person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck')),
    frames     BIGINT NOT NULL,                                    -- frames analysed in the minute
    in_view    BIGINT NOT NULL,                                    -- in a zone, summed over those frames
    peak       BIGINT NOT NULL,                                    -- the most in a zone at once
    forward    BIGINT NOT NULL,                                    -- crossings of a line, forward
    back       BIGINT NOT NULL,                                    -- and back
    PRIMARY KEY (camera_id, minute, area, kind)
);

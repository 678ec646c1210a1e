-- Meetings: district-to-ward conferences held in a room of the SFU. The core keeps what the
-- meeting is (title, time, invited units), its documents and who attended; the media is the SFU's.

CREATE TABLE meetings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    room        TEXT    NOT NULL UNIQUE,                   -- the signaling room name
    starts_at   TEXT    NOT NULL,
    created_by  INTEGER NOT NULL REFERENCES users (id),   -- the host
    created_at  TEXT    NOT NULL
);

-- The administrative units invited (the district and chosen wards): the roll call's list.
CREATE TABLE meeting_units (
    meeting_id       INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    PRIMARY KEY (meeting_id, jurisdiction_id)
);

-- Documents of a paperless meeting (PDF), attached before or during it.
CREATE TABLE meeting_documents (
    id           TEXT    PRIMARY KEY,                      -- random, unguessable
    meeting_id   INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,                         -- file name as uploaded
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,                         -- of the content, hex
    content      BLOB    NOT NULL,
    uploaded_by  INTEGER NOT NULL REFERENCES users (id),
    uploaded_at  TEXT    NOT NULL
);
CREATE INDEX meeting_documents_meeting ON meeting_documents (meeting_id);

-- One row per stay in the room: a participant who drops and comes back has two.
CREATE TABLE meeting_attendance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    identity    TEXT    NOT NULL,                          -- the join token's identity
    name        TEXT    NOT NULL,                          -- display name at the time
    unit        TEXT,                                      -- administrative unit code attended for
    joined_at   TEXT    NOT NULL,
    left_at     TEXT                                       -- NULL while present
);
CREATE INDEX meeting_attendance_meeting ON meeting_attendance (meeting_id, identity);

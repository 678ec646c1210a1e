-- The civil-status registry: books, records (births, marriages, deaths, recognitions) with their
-- append-only history, the search keys, the blind index of ID numbers, and certified extracts.

CREATE TABLE registry_books (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL CHECK (kind IN ('birth', 'marriage', 'death', 'recognition')),
    volume           TEXT    NOT NULL,                      -- quyển số, e.g. 01/2024
    year             INTEGER NOT NULL,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),  -- the registering ward or district
    created_at       TEXT    NOT NULL,
    UNIQUE (kind, jurisdiction_id, volume)
);

CREATE TABLE civil_records (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL,
    book_id        INTEGER NOT NULL REFERENCES registry_books (id),
    page           INTEGER NOT NULL,
    entry          INTEGER NOT NULL,
    registered_on  TEXT    NOT NULL,                        -- ISO date
    status         TEXT    NOT NULL,                        -- derived from civil_record_actions
    fields         TEXT    NOT NULL,                        -- JSON, without ID numbers
    ids            BLOB,                                    -- AES-GCM sealed JSON of the ID numbers
    name_key       TEXT    NOT NULL,                        -- the person's name without accents, lower case
    parents_key    TEXT    NOT NULL,                        -- the parents' (or other party's) names, likewise
    place_key      TEXT    NOT NULL,
    event_date     TEXT,                                    -- ISO date of the birth, marriage, death or recognition
    assignee_id    INTEGER REFERENCES users (id),
    duplicate_of   INTEGER REFERENCES civil_records (id),    -- flagged on declaring, for review
    row_hash       TEXT,                                    -- imported rows: SHA-256 of the row as read
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (book_id, entry)
);
CREATE INDEX civil_records_name ON civil_records (name_key, event_date);
CREATE INDEX civil_records_event ON civil_records (kind, event_date);

-- Each word of the names, for accent-insensitive and near-spelling search.
CREATE TABLE civil_record_tokens (
    token      TEXT    NOT NULL,
    role       TEXT    NOT NULL,                            -- name or parent
    record_id  INTEGER NOT NULL REFERENCES civil_records (id),
    PRIMARY KEY (token, role, record_id)
);
CREATE INDEX civil_record_tokens_record ON civil_record_tokens (record_id);

-- The words seen in names: the vocabulary near spellings are looked up in.
CREATE TABLE civil_name_words (
    token  TEXT PRIMARY KEY
);

-- The keyed blind index of each ID number in a record.
CREATE TABLE civil_record_ids (
    idx        TEXT    NOT NULL,
    record_id  INTEGER NOT NULL REFERENCES civil_records (id),
    field      TEXT    NOT NULL,
    PRIMARY KEY (idx, record_id, field)
);
CREATE INDEX civil_record_ids_record ON civil_record_ids (record_id);

CREATE TABLE civil_record_actions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id      INTEGER NOT NULL REFERENCES civil_records (id),
    action         TEXT    NOT NULL,
    status_before  TEXT,
    status_after   TEXT    NOT NULL,
    actor_id       INTEGER REFERENCES users (id),
    actor          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    document_ref   TEXT,
    note_kind      TEXT,
    before         TEXT,                                    -- JSON: the changed fields as they were
    after          TEXT,                                    -- JSON: the same fields after
    at             TEXT    NOT NULL
);
CREATE INDEX civil_record_actions_record ON civil_record_actions (record_id, id);

CREATE TABLE civil_extracts (
    id          TEXT    PRIMARY KEY,                        -- random; also in the verification link
    record_id   INTEGER NOT NULL REFERENCES civil_records (id),
    content     TEXT    NOT NULL,                           -- JSON: exactly what the extract shows
    mac         TEXT    NOT NULL,                           -- the server's signature over id, content and date
    issued_by   TEXT    NOT NULL,
    issued_at   TEXT    NOT NULL
);
CREATE INDEX civil_extracts_record ON civil_extracts (record_id);

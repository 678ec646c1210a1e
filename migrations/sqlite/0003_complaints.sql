-- Complaints ("District 10 Online", Open311): categories with their teams and SLAs, the
-- complaints, their append-only history of actions, photos, API keys for Open311 clients, the
-- outbox of events to deliver elsewhere, and the daily rollups the dashboard reads.

-- What a complaint can be about. Data, not code: a district adds or retires a category here.
CREATE TABLE complaint_categories (
    code          TEXT    PRIMARY KEY,                     -- also the Open311 service_code
    name_vi       TEXT    NOT NULL,
    name_en       TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    keywords      TEXT    NOT NULL DEFAULT '',             -- comma-separated, for Open311
    grp           TEXT    NOT NULL DEFAULT '',             -- Open311 group
    sla_hours     INTEGER NOT NULL,                        -- time allowed to fix
    default_team  TEXT    NOT NULL,                        -- responsible team where no ward row says otherwise
    position      INTEGER NOT NULL DEFAULT 0,              -- order in lists
    active        INTEGER NOT NULL DEFAULT 1
);

-- The responsible team for a category in a ward.
CREATE TABLE complaint_teams (
    category_code    TEXT    NOT NULL REFERENCES complaint_categories (code),
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    team             TEXT    NOT NULL,
    PRIMARY KEY (category_code, jurisdiction_id)
);

-- Keys of Open311 clients (apps and partner systems) allowed to POST requests.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    prefix      TEXT    NOT NULL,                          -- first characters, to recognise a key
    key_hash    TEXT    NOT NULL UNIQUE,                   -- SHA-256 of the key
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE complaints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,      -- public: the Open311 service_request_id
    tracking_hash   TEXT    NOT NULL UNIQUE,                -- SHA-256 of the citizen's tracking code
    token           TEXT    NOT NULL UNIQUE,                -- Open311 token
    category_code   TEXT    NOT NULL REFERENCES complaint_categories (code),
    description     TEXT    NOT NULL,
    lat             REAL,
    lon             REAL,
    address         TEXT,
    ward_id         INTEGER REFERENCES jurisdictions (id),  -- NULL: outside every ward, for triage
    team            TEXT    NOT NULL,
    status          TEXT    NOT NULL,                       -- derived from complaint_actions
    is_open         INTEGER NOT NULL,                       -- 1 until fixed, closed or set aside
    handler_id      INTEGER REFERENCES users (id),
    source          TEXT    NOT NULL,                       -- web, kiosk, api, open311
    contact         BLOB,                                   -- AES-GCM sealed contact details
    notify          TEXT,                                   -- email, sms, or NULL
    duplicate_of    INTEGER REFERENCES complaints (id),
    api_key_id      INTEGER REFERENCES api_keys (id),
    submitted_at    TEXT    NOT NULL,
    due_at          TEXT    NOT NULL,                       -- the SLA clock's end
    updated_at      TEXT    NOT NULL,
    resolved_at     TEXT,                                   -- when last fixed, closed or set aside
    rating          INTEGER,
    rating_comment  TEXT,
    rated_at        TEXT
);
CREATE INDEX complaints_nearby ON complaints (category_code, lat) WHERE is_open;
CREATE INDEX complaints_submitted ON complaints (submitted_at);
CREATE INDEX complaints_ward_status ON complaints (ward_id, status, submitted_at);
CREATE INDEX complaints_open_due ON complaints (due_at, ward_id) WHERE is_open;

-- Everything that happened to a complaint, in order. Never updated or deleted.
CREATE TABLE complaint_actions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id   INTEGER NOT NULL REFERENCES complaints (id),
    action         TEXT    NOT NULL,                       -- submit, assign, start, fix, close, comment, ...
    status_before  TEXT,
    status_after   TEXT    NOT NULL,
    actor_id       INTEGER REFERENCES users (id),
    actor          TEXT    NOT NULL,                       -- username, "citizen", "system" or "api:<key>"
    public         INTEGER NOT NULL,                       -- shown to the citizen and over Open311
    note           TEXT    NOT NULL DEFAULT '',
    detail         TEXT    NOT NULL DEFAULT '{}',
    at             TEXT    NOT NULL
);
CREATE INDEX complaint_actions_complaint ON complaint_actions (complaint_id, id);
CREATE INDEX complaint_actions_at ON complaint_actions (at) WHERE public;

CREATE TABLE complaint_photos (
    id            TEXT    PRIMARY KEY,                     -- random, unguessable
    complaint_id  INTEGER NOT NULL REFERENCES complaints (id),
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    content       BLOB    NOT NULL,                        -- with EXIF and GPS removed
    created_at    TEXT    NOT NULL
);
CREATE INDEX complaint_photos_complaint ON complaint_photos (complaint_id);

-- Figures per ward and category for each day and each month (day in Vietnam's time; a month
-- row is dated its first day), kept by the same transactions that change complaints, so the
-- dashboard never scans the complaints themselves and a year is twelve month rows.
CREATE TABLE complaint_rollup (
    grain             TEXT    NOT NULL,                      -- 'day' or 'month'
    day               TEXT    NOT NULL,
    ward_id           INTEGER NOT NULL,                      -- 0: outside every ward
    category_code     TEXT    NOT NULL,
    received          INTEGER NOT NULL DEFAULT 0,
    resolved          INTEGER NOT NULL DEFAULT 0,
    resolved_on_time  INTEGER NOT NULL DEFAULT 0,
    resolve_seconds   INTEGER NOT NULL DEFAULT 0,
    rating_sum        INTEGER NOT NULL DEFAULT 0,
    rating_count      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, day, ward_id, category_code)
);

-- How long complaints took to resolve, as a histogram per day (and month) and ward: a JSON array
-- of bucket, count pairs, buckets growing by a tenth (see complaint/stats.rs).
CREATE TABLE complaint_resolve_hist (
    grain    TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    ward_id  INTEGER NOT NULL,
    counts   TEXT    NOT NULL,
    PRIMARY KEY (grain, day, ward_id)
);

-- Events waiting to be delivered to another system (the city's 1022 portal, webhook
-- subscribers, notifiers). Written in the transaction that makes the change; a worker delivers
-- them with retries, and the receiver deduplicates by event_id.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    destination      TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    delivered_at     TEXT,
    last_error       TEXT,
    UNIQUE (destination, event_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

INSERT INTO complaint_categories (code, name_vi, name_en, description, keywords, grp, sla_hours, default_team, position) VALUES
    ('sidewalk',     'Lấn chiếm vỉa hè',        'Sidewalk encroachment', 'Stalls, vehicles or goods blocking the sidewalk', 'vỉa hè,lấn chiếm,sidewalk', 'urban-order', 72, 'Đội trật tự đô thị', 1),
    ('construction', 'Xây dựng trái phép',      'Illegal construction',  'Building without a permit or beyond it',         'xây dựng,construction',     'urban-order', 120, 'Đội quản lý trật tự xây dựng', 2),
    ('garbage',      'Rác thải',                'Garbage',               'Uncollected rubbish or illegal dumping',         'rác,garbage,waste',         'sanitation', 24, 'Tổ vệ sinh môi trường', 3),
    ('noise',        'Tiếng ồn',                'Noise',                 'Noise from karaoke, works or businesses',        'ồn,noise,karaoke',          'urban-order', 24, 'Công an phường', 4),
    ('lighting',     'Đèn chiếu sáng',          'Street lighting',       'A street light that is out or damaged',          'đèn,light',                 'infrastructure', 48, 'Đội chiếu sáng công cộng', 5),
    ('flooding',     'Ngập nước',               'Flooding',              'Standing water or a blocked drain',              'ngập,flood,drain',          'infrastructure', 12, 'Đội thoát nước', 6),
    ('other',        'Khác',                    'Other',                 'Anything else the ward should know about',       '',                          'other', 120, 'Văn phòng UBND phường', 7);

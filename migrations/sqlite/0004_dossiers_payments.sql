-- Online dossiers (the one-stop shop) and payments: the procedure catalogue, public holidays for
-- working-day deadlines, dossiers with their append-only history and documents, payment intents
-- with their provider events, and receipts numbered without gaps.

-- What a citizen can apply for. Data, not code.
CREATE TABLE procedures (
    code          TEXT    PRIMARY KEY,                     -- the national catalogue's code
    name_vi       TEXT    NOT NULL,
    name_en       TEXT    NOT NULL,
    level         TEXT    NOT NULL CHECK (level IN ('full_online', 'partial_online')),
    documents     TEXT    NOT NULL,                        -- JSON: [{key, name_vi, name_en, required}]
    fee           INTEGER NOT NULL CHECK (fee >= 0),       -- VND
    working_days  INTEGER NOT NULL CHECK (working_days >= 0),
    office        TEXT    NOT NULL CHECK (office IN ('ward', 'district')),
    position      INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1
);

-- Days off besides weekends (ISO dates), edited by the district as the government announces them.
CREATE TABLE holidays (
    day   TEXT PRIMARY KEY,
    name  TEXT NOT NULL
);

CREATE TABLE dossiers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT    NOT NULL UNIQUE,                -- the citizen's reference, printed on the receipt
    procedure_code  TEXT    NOT NULL REFERENCES procedures (code),
    ward_id         INTEGER NOT NULL REFERENCES jurisdictions (id),  -- the applicant's ward
    office_id       INTEGER NOT NULL REFERENCES jurisdictions (id),  -- who processes it: the ward or the district
    applicant       BLOB    NOT NULL,                       -- AES-GCM sealed: name, ID number, phone, email, address
    id_index        TEXT    NOT NULL,                       -- keyed blind index of the ID number
    status          TEXT    NOT NULL,                       -- derived from dossier_actions
    is_open         INTEGER NOT NULL,
    handler_id      INTEGER REFERENCES users (id),
    source          TEXT    NOT NULL,                       -- online, kiosk, counter
    fee             INTEGER NOT NULL,
    fee_paid        INTEGER NOT NULL DEFAULT 0,
    received_at     TEXT    NOT NULL,
    due_at          TEXT    NOT NULL,                       -- the appointment to return the result
    step_due_at     TEXT,                                   -- the current hand-off's deadline
    result_at       TEXT,
    closed_at       TEXT,                                   -- returned or refused
    on_time         INTEGER,                                -- set when returned: by the appointment?
    apologies       INTEGER NOT NULL DEFAULT 0,
    rating          INTEGER,
    rating_comment  TEXT,
    rated_at        TEXT,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX dossiers_office_status ON dossiers (office_id, is_open, due_at);
CREATE INDEX dossiers_ward_received ON dossiers (ward_id, received_at);
CREATE INDEX dossiers_closed ON dossiers (ward_id, closed_at);
CREATE INDEX dossiers_id_index ON dossiers (id_index);

CREATE TABLE dossier_actions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers (id),
    action         TEXT    NOT NULL,
    status_before  TEXT,
    status_after   TEXT    NOT NULL,
    actor_id       INTEGER REFERENCES users (id),
    actor          TEXT    NOT NULL,
    public         INTEGER NOT NULL,
    note           TEXT    NOT NULL,
    detail         TEXT    NOT NULL,                        -- JSON
    step_due_at    TEXT,                                    -- a hand-off's deadline
    at             TEXT    NOT NULL
);
CREATE INDEX dossier_actions_dossier ON dossier_actions (dossier_id, id);

CREATE TABLE dossier_documents (
    id            TEXT    PRIMARY KEY,                      -- random, hex
    dossier_id    INTEGER NOT NULL REFERENCES dossiers (id),
    doc_key       TEXT    NOT NULL,                         -- which of the procedure's documents
    filename      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    content       BLOB    NOT NULL,                         -- AES-GCM sealed
    uploaded_at   TEXT    NOT NULL
);
CREATE INDEX dossier_documents_dossier ON dossier_documents (dossier_id);

CREATE TABLE payments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    reference     TEXT    NOT NULL UNIQUE,                  -- VNPay TxnRef and the VietQR transfer purpose
    purpose       TEXT    NOT NULL CHECK (purpose IN ('dossier_fee', 'service_fee', 'tuition')),
    dossier_id    INTEGER REFERENCES dossiers (id),
    ward_id       INTEGER REFERENCES jurisdictions (id),
    amount        INTEGER NOT NULL CHECK (amount > 0),      -- VND
    description   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    provider      TEXT,                                     -- vnpay, vietqr, cash
    provider_txn  TEXT,                                     -- the provider's transaction number
    idem_scope    TEXT    NOT NULL,                         -- who created it: anonymous or an account
    idem_key      TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,                         -- SHA-256 of the create request
    created_by    INTEGER REFERENCES users (id),
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    paid_at       TEXT,
    UNIQUE (idem_scope, idem_key)
);
CREATE INDEX payments_open ON payments (status, updated_at);
CREATE INDEX payments_dossier ON payments (dossier_id);
CREATE INDEX payments_paid ON payments (ward_id, paid_at);

-- Everything that happened to a payment, providers' notifications included.
CREATE TABLE payment_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id      INTEGER REFERENCES payments (id),       -- NULL: a notification matching no payment
    kind            TEXT    NOT NULL,
    provider        TEXT    NOT NULL,
    provider_event  TEXT,                                   -- the provider's id for the notification
    outcome         TEXT    NOT NULL,
    detail          TEXT    NOT NULL,                       -- JSON
    at              TEXT    NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, id);
CREATE UNIQUE INDEX payment_events_provider ON payment_events (provider, provider_event) WHERE kind = 'bank_credit';

CREATE TABLE receipts (
    number      INTEGER PRIMARY KEY,                        -- consecutive, no gaps
    payment_id  INTEGER NOT NULL UNIQUE REFERENCES payments (id),
    amount      INTEGER NOT NULL,
    method      TEXT    NOT NULL,
    issued_by   TEXT    NOT NULL,
    issued_at   TEXT    NOT NULL
);

-- Sequences that must not skip: taken inside the transaction that uses them.
CREATE TABLE counters (
    name   TEXT    PRIMARY KEY,
    value  INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('receipt', 0);

-- The district's starting catalogue. Fees and times follow the city's published one-stop
-- procedures at the time of writing; the district keeps this table current.
INSERT INTO procedures (code, name_vi, name_en, level, documents, fee, working_days, office, position) VALUES
('1.000894', 'Xác nhận tình trạng hôn nhân', 'Certificate of marital status', 'full_online',
 '[{"key":"application","name_vi":"Tờ khai cấp Giấy xác nhận tình trạng hôn nhân","name_en":"Application form","required":true},{"key":"id_card","name_vi":"Căn cước công dân","name_en":"Citizen identity card","required":true},{"key":"divorce","name_vi":"Giấy tờ chứng minh đã ly hôn (nếu có)","name_en":"Proof of divorce (if any)","required":false}]',
 15000, 3, 'ward', 1),
('2.000815', 'Chứng thực bản sao từ bản chính', 'Certified copy from the original', 'partial_online',
 '[{"key":"original","name_vi":"Bản chính giấy tờ cần chứng thực","name_en":"The original document","required":true}]',
 10000, 1, 'ward', 2),
('1.004873', 'Cấp bản sao trích lục hộ tịch', 'Copy of a civil-status extract', 'full_online',
 '[{"key":"application","name_vi":"Tờ khai cấp bản sao trích lục","name_en":"Application form","required":true},{"key":"id_card","name_vi":"Căn cước công dân","name_en":"Citizen identity card","required":true}]',
 8000, 1, 'ward', 3),
('1.001612', 'Đăng ký thành lập hộ kinh doanh', 'Registration of a household business', 'full_online',
 '[{"key":"application","name_vi":"Giấy đề nghị đăng ký hộ kinh doanh","name_en":"Registration request","required":true},{"key":"id_card","name_vi":"Căn cước công dân của chủ hộ","name_en":"Owner''s identity card","required":true},{"key":"premises","name_vi":"Giấy tờ về địa điểm kinh doanh","name_en":"Proof of business premises","required":false}]',
 100000, 3, 'district', 4),
('1.009794', 'Cấp giấy phép xây dựng nhà ở riêng lẻ', 'Building permit for a private house', 'partial_online',
 '[{"key":"application","name_vi":"Đơn đề nghị cấp giấy phép xây dựng","name_en":"Permit application","required":true},{"key":"land","name_vi":"Giấy chứng nhận quyền sử dụng đất","name_en":"Land use right certificate","required":true},{"key":"drawings","name_vi":"Bản vẽ thiết kế","name_en":"Design drawings","required":true}]',
 75000, 15, 'district', 5);

-- Public holidays (weekdays off) as announced for 2026, and the fixed-date ones of 2027; the
-- district adds Tết 2027 when the government announces it.
INSERT INTO holidays (day, name) VALUES
('2026-01-01', 'Tết Dương lịch'),
('2026-02-16', 'Tết Nguyên đán'),
('2026-02-17', 'Tết Nguyên đán'),
('2026-02-18', 'Tết Nguyên đán'),
('2026-02-19', 'Tết Nguyên đán'),
('2026-02-20', 'Tết Nguyên đán'),
('2026-04-27', 'Giỗ Tổ Hùng Vương (nghỉ bù)'),
('2026-04-30', 'Ngày Giải phóng miền Nam'),
('2026-05-01', 'Quốc tế Lao động'),
('2026-09-01', 'Quốc khánh'),
('2026-09-02', 'Quốc khánh'),
('2027-01-01', 'Tết Dương lịch'),
('2027-04-16', 'Giỗ Tổ Hùng Vương'),
('2027-04-30', 'Ngày Giải phóng miền Nam'),
('2027-09-02', 'Quốc khánh');

-- Queue tickets for a ward office's desks: numbered from 1 each day per office, taken at a kiosk
-- or on the web, called to a desk by the office's staff.

CREATE TABLE queue_tickets (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    jurisdiction_id  INTEGER NOT NULL REFERENCES jurisdictions (id),
    day              TEXT    NOT NULL,                                   -- the office's day (Vietnam time)
    number           INTEGER NOT NULL,
    service          TEXT    NOT NULL,                                   -- civil_status, dossier, payment, other
    status           TEXT    NOT NULL CHECK (status IN ('waiting', 'called', 'served')),
    source           TEXT    NOT NULL,                                   -- kiosk, web
    desk             TEXT,
    called_by        INTEGER REFERENCES users (id),
    created_at       TEXT    NOT NULL,
    called_at        TEXT,
    UNIQUE (jurisdiction_id, day, number)
);
CREATE INDEX queue_tickets_waiting ON queue_tickets (jurisdiction_id, day, status, number);

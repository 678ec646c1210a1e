-- Telehealth: doctors' schedules and slots, appointments booked by ward clinics, and who else
-- the doctor asked into the call. Statuses are FHIR R4's codes.

CREATE TABLE th_schedules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doctor_id   INTEGER NOT NULL UNIQUE REFERENCES users (id),
    created_at  TEXT NOT NULL
);

CREATE TABLE th_slots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id  INTEGER NOT NULL REFERENCES th_schedules (id),
    start_at     TEXT NOT NULL,
    end_at       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('free', 'busy', 'busy-unavailable')),
    created_at   TEXT NOT NULL,
    UNIQUE (schedule_id, start_at)
);
CREATE INDEX th_slots_start ON th_slots (start_at);

CREATE TABLE th_appointments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_id            INTEGER NOT NULL REFERENCES th_slots (id),
    doctor_id          INTEGER NOT NULL REFERENCES users (id),
    start_at           TEXT NOT NULL,                     -- the slot's, kept with the appointment
    end_at             TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('booked', 'arrived', 'fulfilled', 'cancelled', 'noshow')),
    clinic_unit_id     INTEGER NOT NULL REFERENCES jurisdictions (id),
    booked_by          INTEGER NOT NULL REFERENCES users (id),
    room               TEXT NOT NULL UNIQUE,
    patient            BLOB NOT NULL,                    -- AES-GCM sealed JSON: name, birth year, phone, reason
    consent_at         TEXT,
    consent_by         INTEGER REFERENCES users (id),
    consent_recording  INTEGER NOT NULL DEFAULT 0,
    arrived_at         TEXT,
    admitted_at        TEXT,
    reminded_at        TEXT,
    note               BLOB,                             -- AES-GCM sealed visit note
    cancel_reason      TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
-- A slot holds one appointment that is not cancelled.
CREATE UNIQUE INDEX th_appointments_slot ON th_appointments (slot_id) WHERE status <> 'cancelled';
CREATE INDEX th_appointments_start ON th_appointments (start_at);
CREATE INDEX th_appointments_doctor ON th_appointments (doctor_id, start_at);
CREATE INDEX th_appointments_clinic ON th_appointments (clinic_unit_id, start_at);

CREATE TABLE th_participants (
    appointment_id  INTEGER NOT NULL REFERENCES th_appointments (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    added_at        TEXT NOT NULL,
    PRIMARY KEY (appointment_id, user_id)
);
CREATE INDEX th_participants_user ON th_participants (user_id);

-- Bawaba's PostgreSQL schema, version 1. Plain types and statements that PostgreSQL,
-- CockroachDB and YugabyteDB share. Domain values are stored whole as JSONB `body` with a
-- `format` version (like the sled store's version byte); the other columns are copies for
-- indexes, constraints and guarded updates.

-- Zones: the configuration, its version (bumped by every configuration change; a booking
-- transaction that read an older version is run again) and the head of the zone's change log.
-- Booking transactions update `seq` last and hold the row until they commit, so a zone's
-- changes commit in sequence order.
CREATE TABLE zones (
    id      TEXT PRIMARY KEY,
    format  SMALLINT NOT NULL,
    config  JSONB NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    seq     BIGINT NOT NULL DEFAULT 0 CHECK (seq >= 0)
);

CREATE TABLE gates (
    id     TEXT PRIMARY KEY,
    zone   TEXT NOT NULL REFERENCES zones (id),
    format SMALLINT NOT NULL,
    body   JSONB NOT NULL
);

-- Bookings; `first_start` (the first stop's window) finds no-show candidates.
CREATE TABLE bookings (
    id          BYTEA PRIMARY KEY,
    company     TEXT NOT NULL,
    plate       TEXT NOT NULL,
    state       TEXT NOT NULL,
    first_start TIMESTAMPTZ NOT NULL,
    revision    BIGINT NOT NULL,
    format      SMALLINT NOT NULL,
    body        JSONB NOT NULL
);
CREATE INDEX bookings_by_company ON bookings (company, id);
CREATE INDEX bookings_active_by_plate ON bookings (plate) WHERE state IN ('BOOKED', 'ENTERED');
CREATE INDEX bookings_booked_by_start ON bookings (first_start) WHERE state = 'BOOKED';
CREATE INDEX bookings_no_shows ON bookings (company) WHERE state = 'NO_SHOW';

-- The stops of each booking, for window queries and the recount. `kind` is the transaction
-- type's index (IMPORT_PICKUP 0 ... GENERAL_CARGO 4).
CREATE TABLE booking_stops (
    booking      BYTEA NOT NULL REFERENCES bookings (id),
    idx          SMALLINT NOT NULL,
    zone         TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    kind         SMALLINT NOT NULL,
    PRIMARY KEY (booking, idx)
);
CREATE INDEX booking_stops_by_window ON booking_stops (zone, window_start);

-- Places taken per window (by bookings that hold capacity), in total and per transaction
-- type. Only guarded updates (`... WHERE booked < capacity`) raise them.
CREATE TABLE window_usage (
    zone           TEXT NOT NULL,
    window_start   TIMESTAMPTZ NOT NULL,
    booked         BIGINT NOT NULL DEFAULT 0 CHECK (booked >= 0),
    import_pickup  BIGINT NOT NULL DEFAULT 0 CHECK (import_pickup >= 0),
    export_dropoff BIGINT NOT NULL DEFAULT 0 CHECK (export_dropoff >= 0),
    empty_return   BIGINT NOT NULL DEFAULT 0 CHECK (empty_return >= 0),
    empty_pickup   BIGINT NOT NULL DEFAULT 0 CHECK (empty_pickup >= 0),
    general_cargo  BIGINT NOT NULL DEFAULT 0 CHECK (general_cargo >= 0),
    PRIMARY KEY (zone, window_start)
);

-- Places each company holds per window (guarded by the company's cap).
CREATE TABLE company_usage (
    zone         TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    company      TEXT NOT NULL,
    held         BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    PRIMARY KEY (zone, window_start, company)
);

CREATE TABLE idempotency (
    company     TEXT NOT NULL,
    key         TEXT NOT NULL,
    booking     BYTEA NOT NULL,
    fingerprint BIGINT NOT NULL,
    PRIMARY KEY (company, key)
);

-- One row per truck, locked while its visits change (the overlap rule).
CREATE TABLE trucks (
    plate TEXT PRIMARY KEY
);

-- Each zone's change log: the booking after change `seq`.
CREATE TABLE change_log (
    zone    TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    booking BYTEA NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (zone, seq)
);

CREATE TABLE passages (
    id      BYTEA PRIMARY KEY,
    zone    TEXT NOT NULL,
    booking BYTEA,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL
);

CREATE TABLE referrals (
    id     BYTEA PRIMARY KEY,
    zone   TEXT NOT NULL,
    state  TEXT NOT NULL,
    format SMALLINT NOT NULL,
    body   JSONB NOT NULL
);
CREATE INDEX referrals_open ON referrals (zone, id) WHERE state = 'OPEN';

-- Leases: jobs that one replica runs for all (the no-show sweep).
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMPTZ NOT NULL
);
INSERT INTO leases (name, holder, until) VALUES ('no-show-sweep', '', '1970-01-01T00:00:00Z');

-- The database's own ceiling for a booking written as one statement (issue #23, item 6):
-- a guarded increment of a window and the booking's insert in one CTE, with a unique
-- idempotency key. `ceiling.sh` runs it with pgbench; compare with `bawaba bench stores`.
SET client_min_messages = warning;
DROP TABLE IF EXISTS ceiling_bookings, ceiling_windows;
CREATE TABLE ceiling_windows (
    zone         TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    booked       BIGINT NOT NULL DEFAULT 0,
    capacity     BIGINT NOT NULL,
    PRIMARY KEY (zone, window_start)
);
CREATE TABLE ceiling_bookings (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    zone            TEXT NOT NULL,
    window_start    TIMESTAMPTZ NOT NULL,
    body            JSONB NOT NULL
);
-- Many windows: 3 zones, 30 days of hourly windows, far more room than a run takes.
INSERT INTO ceiling_windows (zone, window_start, capacity)
SELECT 'ZONE-' || z, timestamptz '2027-01-01 00:00+03' + h * interval '1 hour', 1000000
FROM generate_series(1, 3) AS z, generate_series(0, 719) AS h;

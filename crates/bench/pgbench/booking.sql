\set z random(1, 3)
\set h random(0, 719)
WITH w AS (
    UPDATE ceiling_windows SET booked = booked + 1
    WHERE zone = 'ZONE-' || :z AND window_start = timestamptz '2027-01-01 00:00+03' + :h * interval '1 hour'
      AND booked < capacity
    RETURNING zone, window_start)
INSERT INTO ceiling_bookings (idempotency_key, zone, window_start, body)
SELECT md5(random()::text || clock_timestamp()::text), zone, window_start,
       '{"plate": "12-34567", "state": "BOOKED"}'::jsonb
FROM w;

-- The containers of active bookings (BOOKED, ENTERED): one row per container and transaction
-- type, so the database itself keeps a container out of two active jobs of the same type
-- (two import pickups of CSQU3054383). `kind` is the transaction type's index, as in
-- booking_stops. Rows come and go with their booking's state.
CREATE TABLE booking_containers (
    container TEXT NOT NULL,
    kind      SMALLINT NOT NULL,
    booking   BYTEA NOT NULL REFERENCES bookings (id),
    PRIMARY KEY (container, kind)
);
CREATE INDEX booking_containers_by_booking ON booking_containers (booking);

-- The active bookings stored before the rule: the oldest booking of a job keeps it.
INSERT INTO booking_containers (container, kind, booking)
SELECT container, kind, booking FROM (
    SELECT c.value #>> '{}' AS container, s.kind, b.id AS booking,
           row_number() OVER (PARTITION BY c.value #>> '{}', s.kind ORDER BY b.id) AS n
    FROM bookings b
    JOIN booking_stops s ON s.booking = b.id
    CROSS JOIN LATERAL jsonb_array_elements(b.body -> 'stops' -> s.idx::INT -> 'containers') AS c
    WHERE b.state IN ('BOOKED', 'ENTERED')
) AS jobs
WHERE n = 1;

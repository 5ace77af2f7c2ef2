-- A truck's bookings in every state (the operators' search by plate; the partial index of
-- migration 1 holds the active ones only).
CREATE INDEX bookings_by_plate ON bookings (plate, id);

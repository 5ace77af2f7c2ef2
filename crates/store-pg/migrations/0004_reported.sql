-- Per gate, its report mark: the gate has delivered every passage it decided before
-- `through`. The no-show sweep waits for every gate of a zone to report past a booking's
-- entry period. A mark only moves forward (GREATEST on every write).
CREATE TABLE reported (
    gate_id TEXT PRIMARY KEY,
    through TIMESTAMPTZ NOT NULL
);

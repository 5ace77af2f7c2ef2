-- The order passages are recorded in. The live feed follows it rather than the passage ids:
-- a gate that was offline reports its passages late, with older ids. The one row of
-- passage_log hands out the numbers; a transaction recording passages holds it until it
-- commits, so the numbers follow commit order and a follower never misses one.
CREATE TABLE passage_log (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    head     BIGINT NOT NULL
);

-- Passages recorded before: numbered in id order.
ALTER TABLE passages ADD COLUMN recorded BIGINT;
UPDATE passages p SET recorded = n.rn
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM passages) n
WHERE p.id = n.id;
ALTER TABLE passages ALTER COLUMN recorded SET NOT NULL;
CREATE UNIQUE INDEX passages_recorded ON passages (recorded);
CREATE INDEX passages_zone_recorded ON passages (zone, recorded);

INSERT INTO passage_log (head) SELECT COALESCE(MAX(recorded), 0) FROM passages;

-- The company event log: every change to a company's bookings, numbered per company in
-- commit order. A company's row in company_heads hands out its numbers; a transaction
-- appending events holds that row until it commits, so the numbers follow commit order and a
-- follower reading after its cursor never misses one.
CREATE TABLE company_heads (
    company TEXT PRIMARY KEY,
    seq     BIGINT NOT NULL
);

CREATE TABLE company_events (
    company TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (company, seq)
);

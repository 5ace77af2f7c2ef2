-- Companies' webhooks, each with its delivery progress (the pair, as JSON), and every
-- delivery attempt.
CREATE TABLE webhooks (
    company TEXT PRIMARY KEY,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL
);

CREATE TABLE webhook_deliveries (
    company TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (company, seq, attempt)
);

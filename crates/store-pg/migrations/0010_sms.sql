-- SMS notices to drivers: each company's progress through its events (the company and its
-- progress, as JSON), every SMS attempt, the SMS dispatcher's lease (one replica texts at a
-- time), and named marks (`reminders`: reminders were made for the visits whose first window
-- starts by then).
CREATE TABLE sms_progress (
    company TEXT PRIMARY KEY,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL
);

CREATE TABLE sms_texts (
    company TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL,
    PRIMARY KEY (company, seq, attempt)
);

CREATE TABLE marks (
    name TEXT PRIMARY KEY,
    at   TIMESTAMPTZ NOT NULL
);

INSERT INTO leases (name, holder, until) VALUES ('sms', '', '1970-01-01T00:00:00Z')
ON CONFLICT DO NOTHING;

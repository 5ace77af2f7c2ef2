-- Portal accounts (one row per login name, the account as JSON, never a password: its
-- argon2id hash) and their sessions (by the SHA-256 of the session's secret).
CREATE TABLE accounts (
    login   TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL
);
CREATE INDEX accounts_by_company ON accounts (company, login);

CREATE TABLE sessions (
    id      TEXT PRIMARY KEY,
    login   TEXT NOT NULL,
    format  SMALLINT NOT NULL,
    body    JSONB NOT NULL
);
CREATE INDEX sessions_by_login ON sessions (login);

-- The audit trail: who changed what, when, through which door. Append-only: a trigger
-- refuses every UPDATE, DELETE and TRUNCATE. The one row of audit_head hands out the
-- numbers; a transaction that audits holds it until it commits, so numbers follow commit
-- order.
CREATE TABLE audit_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    head     BIGINT NOT NULL
);
INSERT INTO audit_head (head) VALUES (0);

CREATE TABLE audit (
    seq    BIGINT PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    zone   TEXT,
    kind   TEXT NOT NULL,
    actor  TEXT NOT NULL,
    token  TEXT,
    format SMALLINT NOT NULL,
    body   JSONB NOT NULL
);
CREATE INDEX audit_at ON audit (at, seq);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

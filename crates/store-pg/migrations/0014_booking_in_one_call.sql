-- A booking in one call: the database-side pieces of a write, as functions, so that a new
-- booking is one round trip (`bawaba_create_booking`), and every other write runs the same
-- pieces as statements of its transaction.

-- Takes one place in a window of `p_zone` (`p_kind` is the transaction type's index), or
-- answers false: a guarded increment of the window's total and type counters, then of the
-- company's places. False leaves the window's increment made: the caller's transaction
-- must not commit (both or neither).
CREATE FUNCTION bawaba_take(p_zone TEXT, p_start TIMESTAMPTZ, p_kind SMALLINT, p_total BIGINT,
                            p_of_type BIGINT, p_company TEXT, p_cap BIGINT)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO window_usage AS w (zone, window_start, booked, import_pickup, export_dropoff,
                                   empty_return, empty_pickup, general_cargo)
    SELECT p_zone, p_start, 1, (p_kind = 0)::INT, (p_kind = 1)::INT, (p_kind = 2)::INT,
           (p_kind = 3)::INT, (p_kind = 4)::INT
    WHERE p_total > 0 AND p_of_type > 0
    ON CONFLICT (zone, window_start) DO UPDATE SET
        booked = w.booked + 1,
        import_pickup = w.import_pickup + EXCLUDED.import_pickup,
        export_dropoff = w.export_dropoff + EXCLUDED.export_dropoff,
        empty_return = w.empty_return + EXCLUDED.empty_return,
        empty_pickup = w.empty_pickup + EXCLUDED.empty_pickup,
        general_cargo = w.general_cargo + EXCLUDED.general_cargo
    WHERE w.booked < p_total
      AND (CASE p_kind WHEN 0 THEN w.import_pickup WHEN 1 THEN w.export_dropoff
                       WHEN 2 THEN w.empty_return WHEN 3 THEN w.empty_pickup
                       ELSE w.general_cargo END) < p_of_type;
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    INSERT INTO company_usage AS c (zone, window_start, company, held)
    SELECT p_zone, p_start, p_company, 1 WHERE p_cap > 0
    ON CONFLICT (zone, window_start, company) DO UPDATE SET held = c.held + 1
    WHERE c.held < p_cap;
    RETURN FOUND;
END
$$;

-- Appends change-log entries to `p_zone`'s log, numbered from its row in the same statement
-- (held until commit: the zone's changes commit in number order); none when the zone's
-- configuration is no longer at `p_version`. Answers how many were appended.
CREATE FUNCTION bawaba_log_changes(p_zone TEXT, p_version BIGINT, p_format SMALLINT,
                                   p_bookings BYTEA[], p_bodies JSONB[])
RETURNS BIGINT LANGUAGE sql AS $$
    WITH head AS (
        UPDATE zones SET seq = seq + cardinality(p_bookings)
        WHERE id = p_zone AND version = p_version RETURNING seq),
    logged AS (
        INSERT INTO change_log (zone, seq, booking, format, body)
        SELECT p_zone, head.seq - cardinality(p_bookings) + e.n, e.booking, p_format,
               jsonb_set(e.body, '{seq}', to_jsonb(head.seq - cardinality(p_bookings) + e.n))
        FROM head, unnest(p_bookings, p_bodies) WITH ORDINALITY AS e(booking, body, n)
        RETURNING 1)
    SELECT count(*) FROM logged
$$;

-- Appends `p_company`'s events, numbered from its `company_heads` row (created or moved on
-- in the same statement and held until commit).
CREATE FUNCTION bawaba_log_events(p_company TEXT, p_format SMALLINT, p_at TIMESTAMPTZ[],
                                  p_bodies JSONB[])
RETURNS VOID LANGUAGE sql AS $$
    WITH head AS (
        INSERT INTO company_heads (company, seq) VALUES (p_company, cardinality(p_at))
        ON CONFLICT (company) DO UPDATE SET seq = company_heads.seq + EXCLUDED.seq
        RETURNING seq)
    INSERT INTO company_events (company, seq, at, format, body)
    SELECT p_company, head.seq - cardinality(p_at) + e.n, e.at, p_format,
           jsonb_set(e.body, '{seq}', to_jsonb(head.seq - cardinality(p_at) + e.n))
    FROM head, unnest(p_at, p_bodies) WITH ORDINALITY AS e(at, body, n)
$$;

-- Appends audit records, numbered from `audit_head`'s one row in the same statement.
CREATE FUNCTION bawaba_record_audit(p_format SMALLINT, p_at TIMESTAMPTZ[], p_zones TEXT[],
                                    p_kinds TEXT[], p_actors TEXT[], p_tokens TEXT[],
                                    p_bodies JSONB[])
RETURNS VOID LANGUAGE sql AS $$
    WITH h AS (UPDATE audit_head SET head = head + cardinality(p_at) RETURNING head)
    INSERT INTO audit (seq, at, zone, kind, actor, token, format, body)
    SELECT h.head - cardinality(p_at) + e.n, e.at, e.zone, e.kind, e.actor, e.token,
           p_format, e.body
    FROM h, unnest(p_at, p_zones, p_kinds, p_actors, p_tokens, p_bodies)
         WITH ORDINALITY AS e(at, zone, kind, actor, token, body, n)
$$;

-- A new booking, decided by the scheduler on what it knew, written in one call if that is
-- still so: no booking holds its company's idempotency key, the truck's active bookings are
-- `p_known` at `p_known_revisions`, and no active booking holds one of its containers for the
-- same job. Otherwise nothing is written and the answer is what the scheduler did not know,
-- for it to decide again: the key's row (kind 'key') with its booking, or the truck's active
-- bookings and the containers' holders (kind 'booking'). No answer: written.
-- A window without room raises SQLSTATE BW001 (DETAIL: the take's number, from 1); a zone
-- whose configuration moved past the version decided with raises BW002 (DETAIL: the zone).
-- Either leaves nothing written.
CREATE FUNCTION bawaba_create_booking(
    p_company TEXT, p_key TEXT, p_fingerprint BIGINT, p_plate TEXT,
    p_known BYTEA[], p_known_revisions BIGINT[],
    p_id BYTEA, p_state TEXT, p_first_start TIMESTAMPTZ, p_revision BIGINT,
    p_format SMALLINT, p_body JSONB,
    p_stop_zones TEXT[], p_stop_starts TIMESTAMPTZ[], p_stop_kinds SMALLINT[],
    p_containers TEXT[], p_container_kinds SMALLINT[],
    p_take_zones TEXT[], p_take_starts TIMESTAMPTZ[], p_take_kinds SMALLINT[],
    p_take_totals BIGINT[], p_take_of_types BIGINT[], p_take_caps BIGINT[],
    p_log_zones TEXT[], p_log_versions BIGINT[], p_log_bodies JSONB[],
    p_event_at TIMESTAMPTZ[], p_event_bodies JSONB[],
    p_audit_at TIMESTAMPTZ[], p_audit_zones TEXT[], p_audit_kinds TEXT[],
    p_audit_actors TEXT[], p_audit_tokens TEXT[], p_audit_bodies JSONB[])
RETURNS TABLE (kind TEXT, booking BYTEA, fingerprint BIGINT, format SMALLINT, body JSONB)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    -- The truck first: a retry of the same request (same truck) waits here for the first.
    INSERT INTO trucks (plate) VALUES (p_plate) ON CONFLICT (plate) DO NOTHING;
    PERFORM 1 FROM trucks t WHERE t.plate = p_plate FOR UPDATE;
    RETURN QUERY
        SELECT 'key', ik.booking, ik.fingerprint, b.format, b.body
        FROM idempotency ik LEFT JOIN bookings b ON b.id = ik.booking
        WHERE ik.company = p_company AND ik.key = p_key;
    IF FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        WITH actual AS (
            SELECT b.id, b.revision, b.format, b.body FROM bookings b
            WHERE b.plate = p_plate AND b.state IN ('BOOKED', 'ENTERED')
            UNION
            SELECT b.id, b.revision, b.format, b.body
            FROM unnest(p_containers, p_container_kinds) AS j(container, kind)
            JOIN booking_containers c USING (container, kind)
            JOIN bookings b ON b.id = c.booking)
        SELECT 'booking', a.id, NULL::BIGINT, a.format, a.body FROM actual a
        WHERE EXISTS (
            SELECT 1 FROM actual x
            FULL JOIN unnest(p_known, p_known_revisions) AS k(id, revision) USING (id, revision)
            WHERE x.id IS NULL OR k.id IS NULL);
    IF FOUND THEN
        RETURN;
    END IF;
    -- Decided on a zone's configuration that has changed since: nothing to guard with.
    PERFORM 1 FROM zones z JOIN unnest(p_log_zones, p_log_versions) AS v(id, version) USING (id)
    WHERE z.version <> v.version;
    IF FOUND THEN
        RAISE EXCEPTION 'a zone was reconfigured' USING ERRCODE = 'BW002',
            DETAIL = (SELECT min(z.id) FROM zones z
                      JOIN unnest(p_log_zones, p_log_versions) AS v(id, version) USING (id)
                      WHERE z.version <> v.version);
    END IF;
    INSERT INTO bookings (id, company, plate, state, first_start, revision, format, body)
    VALUES (p_id, p_company, p_plate, p_state, p_first_start, p_revision, p_format, p_body);
    INSERT INTO booking_stops (booking, idx, zone, window_start, kind)
    SELECT p_id, (s.n - 1)::SMALLINT, s.zone, s.start, s.kind
    FROM unnest(p_stop_zones, p_stop_starts, p_stop_kinds) WITH ORDINALITY AS s(zone, start, kind, n);
    INSERT INTO booking_containers (container, kind, booking)
    SELECT j.container, j.kind, p_id FROM unnest(p_containers, p_container_kinds) AS j(container, kind);
    INSERT INTO idempotency (company, key, booking, fingerprint)
    VALUES (p_company, p_key, p_id, p_fingerprint);
    FOR i IN 1 .. coalesce(cardinality(p_log_zones), 0) LOOP
        IF bawaba_log_changes(p_log_zones[i], p_log_versions[i], p_format, ARRAY[p_id],
                              ARRAY[p_log_bodies[i]]) <> 1 THEN
            RAISE EXCEPTION 'zone % was reconfigured', p_log_zones[i]
                USING ERRCODE = 'BW002', DETAIL = p_log_zones[i];
        END IF;
    END LOOP;
    IF coalesce(cardinality(p_event_at), 0) > 0 THEN
        PERFORM bawaba_log_events(p_company, p_format, p_event_at, p_event_bodies);
    END IF;
    IF coalesce(cardinality(p_audit_at), 0) > 0 THEN
        PERFORM bawaba_record_audit(p_format, p_audit_at, p_audit_zones, p_audit_kinds,
                                    p_audit_actors, p_audit_tokens, p_audit_bodies);
    END IF;
    -- The contended rows last, held from here to the commit: the places.
    FOR i IN 1 .. coalesce(cardinality(p_take_zones), 0) LOOP
        IF NOT bawaba_take(p_take_zones[i], p_take_starts[i], p_take_kinds[i], p_take_totals[i],
                           p_take_of_types[i], p_company, p_take_caps[i]) THEN
            RAISE EXCEPTION 'no room in window % of zone %', p_take_starts[i], p_take_zones[i]
                USING ERRCODE = 'BW001', DETAIL = i::TEXT;
        END IF;
    END LOOP;
END
$$;

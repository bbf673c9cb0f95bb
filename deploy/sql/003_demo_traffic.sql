-- Demo traffic for the calls table (used by deploy/demo-traffic.sh, never by the servers):
-- each tick starts calls, moves ringing calls to answered or to an unanswered end, and ends
-- answered calls, one committed transaction per tick, so rt-ingest sees the same kind of row
-- changes an application would make. It runs until `seconds` have passed (0: until cancelled).
CREATE OR REPLACE PROCEDURE rt_demo_calls(tenants text[], seconds integer DEFAULT 0,
                                          tick_ms integer DEFAULT 1000,
                                          max_active integer DEFAULT 8)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
    ten text;
    r record;
    x double precision;
    active integer;
BEGIN
    LOOP
        EXIT WHEN seconds > 0 AND clock_timestamp() > started + make_interval(secs => seconds);
        FOREACH ten IN ARRAY tenants LOOP
            SELECT count(*) INTO active FROM calls
             WHERE organization_id = ten AND end_time IS NULL;
            IF active < max_active AND random() < 0.5 THEN
                INSERT INTO calls (organization_id, user_id, direction, from_number, to_number,
                                   provider, provider_call_id, metadata)
                VALUES (ten, 'u-demo',
                        CASE WHEN random() < 0.6 THEN 'inbound' ELSE 'outbound' END,
                        '+1555' || lpad((floor(random() * 10000000))::int::text, 7, '0'),
                        '+1555' || lpad((floor(random() * 10000000))::int::text, 7, '0'),
                        'app', 'demo-' || gen_random_uuid(), '{"source": "demo"}');
            END IF;
        END LOOP;
        -- Calls change at most once per tick: the board shows each state for a while.
        FOR r IN SELECT id, status, answer_time FROM calls
                  WHERE organization_id = ANY (tenants) AND end_time IS NULL
                    AND provider = 'app' AND metadata ->> 'source' = 'demo'
                  ORDER BY start_time LOOP
            x := random();
            IF r.status = 'initiated' AND x < 0.7 THEN
                UPDATE calls SET status = 'ringing', updated_at = now() WHERE id = r.id;
            ELSIF r.status = 'ringing' AND x < 0.45 THEN
                UPDATE calls SET status = 'answered', answer_time = now(), updated_at = now()
                 WHERE id = r.id;
            ELSIF r.status = 'ringing' AND x < 0.6 THEN
                UPDATE calls SET status = 'ended', end_time = now(), updated_at = now(),
                       outcome = (ARRAY ['no_answer', 'busy', 'canceled', 'failed'])
                                 [1 + floor(random() * 4)::int],
                       duration_seconds = 0
                 WHERE id = r.id;
            ELSIF r.status = 'answered' AND x < 0.15 THEN
                UPDATE calls SET status = 'ended', outcome = 'completed', end_time = now(),
                       updated_at = now(),
                       duration_seconds = greatest(1, extract(epoch FROM now() - r.answer_time)::int)
                 WHERE id = r.id;
            END IF;
        END LOOP;
        COMMIT;
        PERFORM pg_sleep(tick_ms / 1000.0);
    END LOOP;
END
$$;

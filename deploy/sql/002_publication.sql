-- The publication rt-ingest streams (RT_PG_PUBLICATION, default rt_pub).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'rt_pub') THEN
        CREATE PUBLICATION rt_pub FOR TABLE calls, appointments, conversation_history, agents,
            tasks, workflows;
    END IF;
END
$$;

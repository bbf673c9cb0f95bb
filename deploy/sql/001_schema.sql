-- Demo schema: what a call-centre SaaS dashboard keeps live. Every table carries the tenant
-- (organization_id); rt-ingest routes each row change to that tenant's channels.
CREATE TABLE IF NOT EXISTS agents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL,
    user_id         text,
    name            text NOT NULL,
    email           text,
    status          text NOT NULL DEFAULT 'offline'
                    CHECK (status IN ('offline', 'available', 'busy', 'wrap_up', 'away')),
    skills          text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calls (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  text NOT NULL,
    user_id          text,
    agent_id         uuid REFERENCES agents (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'initiated'
                     CHECK (status IN ('initiated', 'ringing', 'answered', 'ended')),
    outcome          text CHECK (outcome IN ('completed', 'busy', 'no_answer', 'canceled',
                                             'rejected', 'failed')),
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_number      text NOT NULL,
    to_number        text NOT NULL,
    provider         text NOT NULL DEFAULT 'app',
    provider_call_id text,
    start_time       timestamptz NOT NULL DEFAULT now(),
    answer_time      timestamptz,
    end_time         timestamptz,
    duration_seconds integer,
    notes            text,
    metadata         jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS calls_org_active ON calls (organization_id) WHERE end_time IS NULL;

CREATE TABLE IF NOT EXISTS appointments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL,
    user_id         text,
    agent_id        uuid REFERENCES agents (id) ON DELETE SET NULL,
    customer_name   text NOT NULL,
    customer_phone  text,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'confirmed', 'canceled', 'completed', 'no_show')),
    location        text,
    price           numeric(10, 2),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS conversation_history (
    id              bigserial PRIMARY KEY,
    organization_id text NOT NULL,
    user_id         text,
    call_id         uuid REFERENCES calls (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('caller', 'agent', 'assistant', 'system')),
    content         text NOT NULL,
    sentiment       real,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workflows (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL,
    name            text NOT NULL,
    trigger         text NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    definition      jsonb NOT NULL DEFAULT '{}',
    run_count       bigint NOT NULL DEFAULT 0,
    last_run_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tasks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id text NOT NULL,
    user_id         text,
    workflow_id     uuid REFERENCES workflows (id) ON DELETE SET NULL,
    title           text NOT NULL,
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'in_progress', 'done', 'canceled')),
    priority        smallint NOT NULL DEFAULT 3,
    progress        numeric(5, 2) NOT NULL DEFAULT 0,
    due_at          timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Calls keep the whole old row in the WAL so that an update can tell when end_time became set.
ALTER TABLE calls REPLICA IDENTITY FULL;

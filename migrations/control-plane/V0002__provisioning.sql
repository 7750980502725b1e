-- Everything the control plane needs to provision and run a cooperative: chain endpoints,
-- optional domain, resource limits, the runtime, the node's port, the secrets sealed with the
-- master key, and the reconciler's bookkeeping (attempts, backoff, deadline, restarts).
ALTER TABLE cooperatives
    ADD COLUMN runtime          text    NOT NULL DEFAULT 'process' CHECK (runtime IN ('process', 'docker')),
    ADD COLUMN chain_url        text    NOT NULL DEFAULT '',
    ADD COLUMN ship_url         text    NOT NULL DEFAULT '',
    ADD COLUMN chain_id         text    NOT NULL DEFAULT '',
    ADD COLUMN domain           text    UNIQUE,
    ADD COLUMN memory_mb        integer NOT NULL DEFAULT 512 CHECK (memory_mb BETWEEN 64 AND 65536),
    ADD COLUMN connection_limit integer NOT NULL DEFAULT 6 CHECK (connection_limit BETWEEN 3 AND 100),
    ADD COLUMN port             integer UNIQUE CHECK (port BETWEEN 1 AND 65535),
    -- nonce || AES-256-GCM ciphertext of the secrets JSON; AAD = coopname.
    ADD COLUMN secrets          bytea,
    -- Bumped by `restart`; the reconciler restarts a node started for an older generation.
    ADD COLUMN generation       bigint  NOT NULL DEFAULT 1,
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN state_since      timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN restarts         integer NOT NULL DEFAULT 0;

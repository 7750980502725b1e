-- The control plane's registry of hosted cooperatives: desired state (what the operator asked
-- for) and observed state (what the reconciler last saw), with a visible reason on failure.
CREATE TABLE cooperatives (
    coopname        text        PRIMARY KEY
                                CHECK (coopname ~ '^[a-z1-5.]{1,12}[a-j1-5.]?$' AND coopname !~ '\.$'),
    desired_state   text        NOT NULL CHECK (desired_state IN ('running', 'suspended', 'deleted')),
    observed_state  text        NOT NULL DEFAULT 'pending',
    status_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX cooperatives_desired_state_idx ON cooperatives (desired_state);

-- Payments, payment methods, stored registration packages, the chain-intent outbox and the
-- email outbox. None of this is derived from the chain: it is NOT touched by `resync` and must
-- be backed up. Tables of other parts (users, private data) are not referenced on purpose: the
-- link is the account name (`username`).

-- Orders: a registration (entrance + minimum share fee) or a share deposit.
CREATE TABLE payments (
    id              text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    order_num       bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    username        text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('registration', 'deposit')),
    provider        text        NOT NULL,
    status          text        NOT NULL CHECK (status IN
                        ('PENDING', 'PAID', 'COMPLETED', 'FAILED', 'EXPIRED', 'REFUNDED')),
    -- "400.0000 RUB": the cooperative's symbol and precision
    amount          text        NOT NULL,
    -- why the payment failed, expired or was refunded (shown to people, no internals)
    message         text        NOT NULL DEFAULT '',
    expired_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user ON payments (username, created_at);
CREATE INDEX payments_pending ON payments (expired_at) WHERE status = 'PENDING';
-- At most one live registration payment per person: creating it again returns the live one.
CREATE UNIQUE INDEX payments_one_registration ON payments (username)
    WHERE kind = 'registration' AND status IN ('PENDING', 'PAID', 'COMPLETED');

-- Every status change, with who made it (an account name or "system").
CREATE TABLE payment_events (
    payment_id      text        NOT NULL REFERENCES payments (id),
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_status     text        NOT NULL,
    to_status       text        NOT NULL,
    actor           text        NOT NULL,
    message         text        NOT NULL DEFAULT ''
);
CREATE INDEX payment_events_payment ON payment_events (payment_id, at);

-- Where a person (or the cooperative itself, username = coopname) receives money.
CREATE TABLE payment_methods (
    method_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text        NOT NULL,
    method_type     text        NOT NULL CHECK (method_type IN ('bank_transfer', 'sbp')),
    is_default      boolean     NOT NULL DEFAULT false,
    -- BankAccount or SbpAccount, validated by `payments::method`
    data            jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_methods_user ON payment_methods (username, method_id);
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (username, method_type)
    WHERE is_default;

-- A candidate's verified registration package (statement + agreements), stored by
-- registerParticipant and sent to the chain when the registration payment is PAID.
-- `status` is this part's own view of the candidate: stored -> paid -> registered | failed.
CREATE TABLE registration_packages (
    username        text        PRIMARY KEY,
    account_type    text        NOT NULL CHECK (account_type IN
                        ('individual', 'entrepreneur', 'organization')),
    -- the candidate's key, becomes the account's owner/active key (newaccount)
    public_key      text        NOT NULL,
    braname         text        NOT NULL DEFAULT '',
    referer         text        NOT NULL DEFAULT '',
    -- document2 JSON
    statement       jsonb       NOT NULL,
    -- [{"agreement_type": "wallet", "document": document2}, ...]
    agreements      jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'stored' CHECK (status IN
                        ('stored', 'paid', 'registered', 'failed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Chain intents: a chain effect committed together with its cause, sent by the outbox sender.
-- One intent per payment (the unique key makes concurrent PAID signals create exactly one).
CREATE TABLE chain_intents (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('registration')),
    payment_id      text        NOT NULL UNIQUE REFERENCES payments (id),
    username        text        NOT NULL,
    -- what the transaction is built from (a snapshot taken when the intent was created)
    payload         jsonb       NOT NULL,
    -- pending: no live transaction; sent: `trx_id` recorded (maybe sent) and not yet confirmed;
    -- confirmed: included in an irreversible block; failed: refused permanently
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN
                        ('pending', 'sent', 'confirmed', 'failed')),
    -- distinct transactions built so far (a new one only after the previous expired unincluded)
    attempts        integer     NOT NULL DEFAULT 0,
    trx_id          bytea       CHECK (octet_length(trx_id) = 32),
    trx_expiration  timestamptz,
    confirmed_block bigint,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') OR (status = 'failed') OR (trx_id IS NOT NULL))
);
CREATE INDEX chain_intents_open ON chain_intents (next_attempt_at)
    WHERE status IN ('pending', 'sent');

-- Every transaction ever recorded for an intent (recorded BEFORE it is sent).
CREATE TABLE chain_intent_trxs (
    trx_id          bytea       PRIMARY KEY CHECK (octet_length(trx_id) = 32),
    intent_id       bigint      NOT NULL REFERENCES chain_intents (id),
    attempt         integer     NOT NULL,
    expiration      timestamptz NOT NULL,
    -- recorded, sent, rejected (with error), expired (unincluded), included
    outcome         text        NOT NULL DEFAULT 'recorded',
    error           text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (intent_id, attempt)
);

-- Email outbox: messages rendered when enqueued, sent (or written to files) by the mail sender.
CREATE TABLE mail_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- optional idempotency key: enqueueing the same key twice keeps one message
    dedup_key       text        UNIQUE,
    template        text        NOT NULL,
    to_addr         text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN
                        ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

-- Members added on paper (`addParticipant`) and key resets: single-use, expiring tokens (only
-- their SHA-256 is stored) and two more chain-intent kinds, `adduser` (the account and its
-- `registrator::adduser`, one per user) and `changekey` (one per consumed token).
ALTER TABLE chain_intents DROP CONSTRAINT chain_intents_kind_check;
ALTER TABLE chain_intents ADD CONSTRAINT chain_intents_kind_check
    CHECK (kind IN ('registration', 'council', 'adduser', 'changekey'));
ALTER TABLE chain_intents DROP CONSTRAINT chain_intents_cause;
ALTER TABLE chain_intents ADD CONSTRAINT chain_intents_cause CHECK (
    (kind = 'registration' AND payment_id IS NOT NULL)
    OR (kind IN ('council', 'adduser', 'changekey') AND payment_id IS NULL
        AND intent_key IS NOT NULL));

-- A token sets (invitation) or replaces (key_reset) the user's key; consumed at most once.
CREATE TABLE key_tokens (
    token_hash  bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    username    text        NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('invitation', 'key_reset')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_tokens_user ON key_tokens (username);

-- Council decisions through the chain-intent outbox: an intent is either a registration (caused
-- by a payment turning PAID) or a council action (the chairman's authorize + exec, or a
-- decline), keyed by the decision so that one decision gets at most one council intent.
ALTER TABLE chain_intents DROP CONSTRAINT chain_intents_kind_check;
ALTER TABLE chain_intents ADD CONSTRAINT chain_intents_kind_check
    CHECK (kind IN ('registration', 'council'));
ALTER TABLE chain_intents ALTER COLUMN payment_id DROP NOT NULL;
-- "decision:<id>" for council intents (unique: concurrent calls create one)
ALTER TABLE chain_intents ADD COLUMN intent_key text UNIQUE;
ALTER TABLE chain_intents ADD CONSTRAINT chain_intents_cause CHECK (
    (kind = 'registration' AND payment_id IS NOT NULL)
    OR (kind = 'council' AND payment_id IS NULL AND intent_key IS NOT NULL));

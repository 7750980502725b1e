-- Authentication and system state. Not derived from the chain: `tenant-node resync` keeps it.

-- The node's users: participants and applicants who log in. Roles are NOT stored here (they come
-- from the synced council); registration (issue #7) fills the remaining lifecycle.
CREATE TABLE users (
    username            text        PRIMARY KEY CHECK (username ~ '^[a-z1-5.]{1,12}$'),
    email               text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- the key an unregistered user logs in with, stored as `PUB_K1_…`; registered users log in
    -- with a key of their `active` permission on chain
    public_key          text,
    -- created → joined → payed → registered → active; failed, refunded, blocked
    status              text        NOT NULL DEFAULT 'created' CHECK (status IN
                            ('created', 'joined', 'payed', 'registered', 'active', 'failed',
                             'refunded', 'blocked')),
    account_type        text        NOT NULL DEFAULT 'individual' CHECK (account_type IN
                            ('individual', 'entrepreneur', 'organization')),
    referer             text,
    is_email_verified   boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Refresh tokens: only their SHA-256 is stored. A refresh rotates (the old one is revoked and
-- points to its successor); presenting a revoked one revokes its whole family.
CREATE TABLE refresh_tokens (
    token_hash  bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    family      bytea       NOT NULL CHECK (octet_length(family) = 16),
    username    text        NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    replaced_by bytea
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_username ON refresh_tokens (username);

-- The system's status (no row: maintenance) and the validated `initSystem` payload.
CREATE TABLE system_state (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    status      text        NOT NULL CHECK (status IN ('install', 'active', 'maintenance')),
    init        jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The cooperative's private key, sealed with XChaCha20-Poly1305 under the secret-at-rest key
-- (the cooperative's name is the associated data).
CREATE TABLE custody_keys (
    permission  text        PRIMARY KEY,
    public_key  text        NOT NULL,
    nonce       bytea       NOT NULL CHECK (octet_length(nonce) = 24),
    ciphertext  bytea       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

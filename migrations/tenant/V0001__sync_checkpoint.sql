-- Where the chain sync stands: the last block whose data is fully stored. Written in the same
-- transaction as that block's data, so a restart resumes exactly after it.
CREATE TABLE sync_checkpoint (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    block_num   bigint      NOT NULL CHECK (block_num >= 0),
    block_id    bytea       NOT NULL CHECK (octet_length(block_id) = 32),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Chain sync: everything here is derived from the chain and rebuilt by `tenant-node resync`.
-- Names are Antelope names as text, block numbers bigint, u64 primary keys numeric(20,0).

-- The chain and cooperative this database belongs to; a node refuses another one's database.
CREATE TABLE sync_identity (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    chain_id    bytea       NOT NULL CHECK (octet_length(chain_id) = 32),
    coopname    text        NOT NULL
);

-- The last irreversible block the chain reported with the checkpoint's block.
ALTER TABLE sync_checkpoint ADD COLUMN last_irreversible bigint NOT NULL DEFAULT 0;

-- Stored blocks that a fork may still replace (LIB..checkpoint, always the checkpoint itself):
-- sent as SHiP `have_positions` when the node reconnects.
CREATE TABLE sync_positions (
    block_num   bigint      PRIMARY KEY,
    block_id    bytea       NOT NULL CHECK (octet_length(block_id) = 32)
);

-- ABI history of the followed accounts: the ABI in force from `block_num` on. Block 0 holds
-- the `get_raw_abi` bootstrap for accounts whose ABI the synced history does not show.
CREATE TABLE chain_abis (
    account     text        NOT NULL,
    block_num   bigint      NOT NULL CHECK (block_num >= 0),
    abi         bytea       NOT NULL,
    PRIMARY KEY (account, block_num)
);

-- Action receipts that concern the cooperative, one row per receipt (notifications have their
-- own receipt: `receiver` differs from `account`). Failed transactions are never stored.
CREATE TABLE chain_actions (
    global_sequence         bigint      PRIMARY KEY,
    block_num               bigint      NOT NULL,
    block_time              timestamptz NOT NULL,
    trx_id                  bytea       NOT NULL,
    action_ordinal          integer     NOT NULL,
    creator_action_ordinal  integer     NOT NULL,
    receiver                text        NOT NULL,
    account                 text        NOT NULL,
    name                    text        NOT NULL,
    -- [{"actor": …, "permission": …}]
    auth                    jsonb       NOT NULL,
    data                    bytea       NOT NULL,
    -- `data` decoded with the ABI in force at the action; NULL when it does not decode
    decoded                 jsonb
);
CREATE INDEX chain_actions_block ON chain_actions (block_num);
CREATE INDEX chain_actions_kind ON chain_actions (account, name, block_num);

-- Append-only history of table rows: each row's final state per block (`present = false`:
-- erased in that block, `data` is its last value).
CREATE TABLE chain_row_history (
    code        text            NOT NULL,
    scope       text            NOT NULL,
    tbl         text            NOT NULL,
    pk          numeric(20, 0)  NOT NULL,
    block_num   bigint          NOT NULL,
    present     boolean         NOT NULL,
    payer       text            NOT NULL,
    data        bytea           NOT NULL,
    decoded     jsonb,
    PRIMARY KEY (code, scope, tbl, pk, block_num)
);
CREATE INDEX chain_row_history_block ON chain_row_history (block_num);

-- Current state: the rows present at the checkpoint (the newest history entry of each key).
CREATE TABLE chain_rows (
    code        text            NOT NULL,
    scope       text            NOT NULL,
    tbl         text            NOT NULL,
    pk          numeric(20, 0)  NOT NULL,
    block_num   bigint          NOT NULL,
    payer       text            NOT NULL,
    data        bytea           NOT NULL,
    decoded     jsonb,
    PRIMARY KEY (code, scope, tbl, pk)
);

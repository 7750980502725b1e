-- Private data (never derived from the chain, kept by `resync`) and generated documents.

-- Append-only private data, versioned by block. Every write appends a version tagged with the
-- node's synced head block at the write (the `sync_checkpoint` block, 0 before the first one);
-- a read "as of block N" returns the newest version with `block_num <= N`. `seq` orders versions
-- written within one block, and documents record the highest `seq` they saw (`data_seq`), so a
-- document is rebuilt exactly even when data changed later in the same block.
--   kind: individual | entrepreneur | organization (subject: the account; the cooperative's
--         own organization data has the cooperative as subject), bank_account (subject: the
--         account; replaces the embedded bank account), vars (subject: the cooperative),
--         signature (subject: the account; PNG/JPEG bytes in `image`), project (subject: the
--         free-decision project id).
CREATE TABLE private_data (
    seq         bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('individual', 'entrepreneur', 'organization',
                                                     'bank_account', 'vars', 'signature', 'project')),
    subject     text        NOT NULL CHECK (subject <> ''),
    block_num   bigint      NOT NULL CHECK (block_num >= 0),
    data        jsonb,
    image       bytea,
    written_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'signature') = (image IS NOT NULL)),
    CHECK ((kind = 'signature') = (data IS NULL))
);
CREATE INDEX private_data_as_of ON private_data (subject, kind, block_num DESC, seq DESC);

-- Generated documents, one record per (doc_hash, member): two members who get the same PDF
-- (e.g. a consent without personal data generated in the same minute) keep their own record.
-- `data_seq` is the private-data snapshot the document was generated from.
CREATE TABLE generated_documents (
    doc_hash    text        NOT NULL CHECK (doc_hash ~ '^[0-9A-F]{64}$'),
    username    text        NOT NULL,
    registry_id integer     NOT NULL CHECK (registry_id > 0),
    block_num   bigint      NOT NULL CHECK (block_num >= 0),
    data_seq    bigint      NOT NULL CHECK (data_seq >= 0),
    meta        jsonb       NOT NULL,
    full_title  text        NOT NULL,
    html        text        NOT NULL,
    pdf         bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (doc_hash, username)
);
CREATE INDEX generated_documents_user ON generated_documents (username, registry_id);

-- The queue (mailtool.store.pg.queue): every accepted message until each recipient is
-- settled, shared by every serve node. One row per message; its recipients' states and
-- metadata are the same JSON the file spool keeps; the message in chunks beside it.
CREATE TABLE queue_entry (
    id          text PRIMARY KEY,               -- 16 hex digits of ns + 8 random hex digits
    sender      text NOT NULL,                  -- '' for the null reverse-path
    created     double precision NOT NULL,      -- epoch seconds (the arriving node's clock)
    recipients  jsonb NOT NULL,                 -- [RecipientState as JSON, ...]
    metadata    jsonb NOT NULL,
    size        bigint NOT NULL,                -- the message's length in bytes
    -- earliest epoch second at which a runner has something to do (NULL: nothing pending)
    next_due    double precision,
    -- the node trying it now: claimed with FOR UPDATE SKIP LOCKED, until claim_until
    -- (renewed while it works; a dead node's claim expires and another node takes it)
    claim_node  text,
    claim_token text,                           -- the claiming process (one per start)
    claim_until timestamptz
);
CREATE INDEX queue_entry_due ON queue_entry (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX queue_entry_claim ON queue_entry (claim_node) WHERE claim_node IS NOT NULL;

CREATE TABLE queue_chunk (
    -- deferred: the chunks are written as they arrive, the entry row (with the size) last
    entry_id text NOT NULL REFERENCES queue_entry (id) ON DELETE CASCADE
             DEFERRABLE INITIALLY DEFERRED,
    seq      integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (entry_id, seq)
);
-- the bodies are compressed by the client if at all (mail is mostly already compact)
ALTER TABLE queue_chunk ALTER COLUMN data SET STORAGE EXTERNAL;


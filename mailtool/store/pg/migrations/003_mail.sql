-- The mail store (mailtool/store/pg/mailstore.py): what the SQLite backend keeps in each
-- user's Maildir and mailtool-index.sqlite. Numbers (UIDNEXT, HIGHESTMODSEQ, UIDVALIDITY)
-- are taken with UPDATE ... RETURNING on the folder (or user) row inside the writer's
-- transaction: the row lock orders concurrent writers of one mailbox, on any node, so UIDs
-- are never reused and MODSEQs only grow in commit order (RFC 9051 §2.3.1.1, RFC 7162 §3).

-- one row per user that has mail; last_uidvalidity: a recreated folder gets a larger one
CREATE TABLE mail_users (
    address          text PRIMARY KEY,
    last_uidvalidity bigint NOT NULL DEFAULT 0
);

CREATE TABLE mail_folders (
    id               bigserial PRIMARY KEY,
    address          text NOT NULL REFERENCES mail_users(address) ON DELETE CASCADE,
    name             text NOT NULL,
    uidvalidity      bigint NOT NULL,
    uidnext          bigint NOT NULL DEFAULT 1,
    highestmodseq    bigint NOT NULL DEFAULT 1,
    -- IMAP4rev1 \Recent (RFC 3501 §2.3.2): UIDs from here to uidnext are unclaimed
    first_recent_uid bigint NOT NULL DEFAULT 1,
    subscribed       boolean NOT NULL DEFAULT true,
    special_use      text NOT NULL DEFAULT '',
    UNIQUE (address, name)
);

-- RFC 9051 §6.3.5: DELETE leaves the subscription (LIST shows \NonExistent)
CREATE TABLE mail_lost_subscriptions (
    address text NOT NULL REFERENCES mail_users(address) ON DELETE CASCADE,
    name    text NOT NULL,
    PRIMARY KEY (address, name)
);

-- message bodies, shared by the messages COPY made of them; orphaned_at: when the last
-- message referring to it went (deleted ORPHAN_GRACE later, pg/bodies.py)
CREATE TABLE mail_bodies (
    id          bigserial PRIMARY KEY,
    size        bigint NOT NULL,            -- bytes stored (the sum of the chunks)
    orphaned_at timestamptz
);
CREATE INDEX mail_bodies_orphaned ON mail_bodies (orphaned_at) WHERE orphaned_at IS NOT NULL;

-- each chunk is exactly CHUNK bytes (pg/bodies.py) but the last: offset -> chunk by division
CREATE TABLE mail_body_chunks (
    body_id bigint NOT NULL REFERENCES mail_bodies(id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (body_id, seq)
);

CREATE TABLE mail_messages (
    folder_id     bigint NOT NULL REFERENCES mail_folders(id) ON DELETE CASCADE,
    uid           bigint NOT NULL,
    body_id       bigint NOT NULL REFERENCES mail_bodies(id),
    flags         text NOT NULL DEFAULT '',      -- sorted, space-separated (store/index.py)
    size          bigint NOT NULL,               -- RFC822.SIZE: the CRLF form's size
    internal_date double precision NOT NULL,
    modseq        bigint NOT NULL,
    PRIMARY KEY (folder_id, uid)
);
CREATE INDEX mail_messages_modseq ON mail_messages (folder_id, modseq);
CREATE INDEX mail_messages_body ON mail_messages (body_id);

-- QRESYNC's VANISHED (RFC 7162 §3.2.5.2): expunged UIDs with the MODSEQ of their expunge
CREATE TABLE mail_expunged (
    folder_id bigint NOT NULL REFERENCES mail_folders(id) ON DELETE CASCADE,
    uid       bigint NOT NULL,
    modseq    bigint NOT NULL,
    PRIMARY KEY (folder_id, uid)
);
CREATE INDEX mail_expunged_modseq ON mail_expunged (folder_id, modseq);

-- RFC 5256 SORT/THREAD keys (store/index.py SORT_FIELDS), written on first need
CREATE TABLE mail_sort_fields (
    folder_id    bigint NOT NULL REFERENCES mail_folders(id) ON DELETE CASCADE,
    uid          bigint NOT NULL,
    sent         double precision,
    from_mailbox text NOT NULL DEFAULT '',
    to_mailbox   text NOT NULL DEFAULT '',
    cc_mailbox   text NOT NULL DEFAULT '',
    from_display text NOT NULL DEFAULT '',
    to_display   text NOT NULL DEFAULT '',
    subject      text NOT NULL DEFAULT '',
    reply        integer NOT NULL DEFAULT 0,
    message_id   text NOT NULL DEFAULT '',
    refs         text NOT NULL DEFAULT '',
    PRIMARY KEY (folder_id, uid)
);

-- SEARCH's header cache (store/index.py HEADER_FIELDS): decoded, case-folded, UTF-8 bytes
CREATE TABLE mail_header_cache (
    folder_id bigint NOT NULL REFERENCES mail_folders(id) ON DELETE CASCADE,
    uid       bigint NOT NULL,
    h_subject bytea, h_from bytea, h_to bytea, h_cc bytea, h_bcc bytea, h_date bytea,
    PRIMARY KEY (folder_id, uid)
);

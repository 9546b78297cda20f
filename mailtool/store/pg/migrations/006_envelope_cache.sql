-- FETCH ENVELOPE as the wire bytes sent (store/index.py envelope_cache): the UTF8=ACCEPT
-- form, and the form for other clients where it differs (NULL: the same bytes). Filled
-- by the first FETCH (or SEARCH/SORT) that makes a message's envelope; a row goes with
-- its message (the foreign key cascades), so an expunged UID leaves none behind.
CREATE TABLE mail_envelope_cache (
    folder_id bigint NOT NULL,
    uid       bigint NOT NULL,
    utf8      bytea NOT NULL,
    ascii     bytea,
    PRIMARY KEY (folder_id, uid),
    FOREIGN KEY (folder_id, uid) REFERENCES mail_messages (folder_id, uid) ON DELETE CASCADE
);

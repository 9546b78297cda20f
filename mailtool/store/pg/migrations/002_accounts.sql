-- Domains, users, aliases (mailtool/store/pg/accounts.py): the SQLite accounts.db's tables.
-- Addresses are stored in the store's one spelling (mailtool/store/address.py).
CREATE TABLE domains (
    name    text PRIMARY KEY,
    created double precision NOT NULL          -- seconds since the epoch, as User.created
);

CREATE TABLE users (
    address          text PRIMARY KEY,
    domain           text NOT NULL REFERENCES domains(name),
    password_hash    text NOT NULL,             -- argon2id PHC string, never the password
    scram_salt       bytea NOT NULL,            -- RFC 5802 §3 keys
    scram_iterations integer NOT NULL,
    scram_stored_key bytea NOT NULL,
    scram_server_key bytea NOT NULL,
    quota_bytes      bigint,
    quota_messages   bigint,
    created          double precision NOT NULL
);
CREATE INDEX users_domain ON users(domain);

CREATE TABLE aliases (
    source text NOT NULL,                       -- an address or '@domain' (the catch-all)
    domain text NOT NULL REFERENCES domains(name),
    target text NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain);
CREATE INDEX aliases_target ON aliases(target);

-- One counter every account change bumps (statement triggers): a node's lookup cache
-- reads it (one indexed row) and starts again when it moved, as SQLite's data_version.
CREATE TABLE account_changes (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO account_changes VALUES (1, 0);

CREATE FUNCTION account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account_changes SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION account_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION account_changed();
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE ON aliases
    FOR EACH STATEMENT EXECUTE FUNCTION account_changed();

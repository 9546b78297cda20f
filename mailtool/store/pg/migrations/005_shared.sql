-- The small shared state every node must see alike (mailtool/store/pg/sieve_scripts.py,
-- sieve_state.py, metadata.py, dkim_keys.py, caches.py): what the SQLite backend keeps as
-- small files under data_dir (sieve/, dkim/, mta-sts/, tlsrpt/, mailtool-metadata.sqlite).

-- Sieve (RFC 5228 / RFC 5804): each user's named scripts, the active one, settings.
CREATE TABLE sieve_scripts (
    address text NOT NULL,
    name    text NOT NULL,
    body    text NOT NULL,
    PRIMARY KEY (address, name)
);
CREATE TABLE sieve_users (
    address  text PRIMARY KEY,
    active   text,                              -- the active script's name; NULL: none
    settings jsonb NOT NULL DEFAULT '{}'
);
-- The global scope: name '' is the script run before every user's (global.sieve);
-- any other name is a script `include :global` reaches (RFC 6609 §3.2, sieve/global/).
CREATE TABLE sieve_global (
    name text PRIMARY KEY,
    body text NOT NULL
);
-- What Sieve extensions remember between deliveries, bounded per user by the code.
CREATE TABLE sieve_vacation (                   -- RFC 5230 §4.2: sender+handle -> last reply
    address text NOT NULL,
    key     text NOT NULL,
    sent    double precision NOT NULL,
    PRIMARY KEY (address, key)
);
CREATE TABLE sieve_duplicate (                  -- RFC 7352: tracked id -> expiry
    address text NOT NULL,
    key     text NOT NULL,
    expiry  double precision NOT NULL,
    PRIMARY KEY (address, key)
);
CREATE TABLE sieve_notify (                     -- RFC 5435: send times (the rate limit)
    address text NOT NULL,
    sent    double precision NOT NULL
);
CREATE INDEX sieve_notify_address ON sieve_notify (address, sent);

-- IMAP METADATA (RFC 5464): server ('' mailbox) and per-mailbox entries of each user.
CREATE TABLE imap_metadata (
    address text NOT NULL,
    mailbox text NOT NULL,
    entry   text NOT NULL,                      -- lower case (RFC 5464 §3.2)
    value   bytea NOT NULL,
    PRIMARY KEY (address, mailbox, entry)
);

-- DKIM signing keys (RFC 6376, RFC 8463): PEM private keys, never replaced.
CREATE TABLE dkim_keys (
    domain      text NOT NULL,
    selector    text NOT NULL,
    private_pem bytea NOT NULL,
    record      text NOT NULL,                  -- the TXT record to publish (RFC 6376 §3.6.1)
    created     double precision NOT NULL,
    PRIMARY KEY (domain, selector)
);

-- MTA-STS (RFC 8461 §5): the policy cache of the domains we send to.
CREATE TABLE mta_sts_policies (
    domain text PRIMARY KEY,
    policy jsonb NOT NULL
);

-- SMTP TLS reporting (RFC 8460): outbound TLS attempts per UTC day, and the days reported.
CREATE TABLE tlsrpt_attempts (
    id      bigserial PRIMARY KEY,
    day     text NOT NULL,                      -- YYYY-MM-DD (UTC)
    attempt jsonb NOT NULL
);
CREATE INDEX tlsrpt_attempts_day ON tlsrpt_attempts (day);
CREATE TABLE tlsrpt_sent (
    day text PRIMARY KEY
);

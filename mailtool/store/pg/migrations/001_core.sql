-- Cluster-wide values every node must agree on (the SCRAM mock-salt secret, ...):
-- what the SQLite backend keeps as small files in the data dir.
CREATE TABLE cluster_secret (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

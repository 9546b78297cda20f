"""The schema, one ``NNN_name.sql`` file per version (applied by :mod:`..schema`).

Numbers by part: 001 core, 002 accounts, 003 mail, 004 queue, 005 shared state (Sieve
scripts, DKIM keys, caches, metadata), 006 the ENVELOPE cache. Never edit a released
migration: add the next one.
"""

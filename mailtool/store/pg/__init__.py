"""The PostgreSQL store backend (``[store] url = "postgresql://..."``).

Every serve node that names the same database shares accounts, mail, the queue, Sieve
scripts and DKIM keys through it; a node's own disk keeps only its certificate and logs
(docs/scaling.md).

* :mod:`.db` - :class:`Database`: the connection pool, transactions, errors mapped to
  :class:`~mailtool.errors.StoreUnavailable`.
* :mod:`.schema` - versioned migrations (``migrations/NNN_name.sql``), ``init`` and ``check``.

psycopg is imported only here and below, so the SQLite default never loads it.
"""

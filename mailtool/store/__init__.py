"""mailtool.store: all persistence, under one data directory.

::

    <data_dir>/accounts.db                  accounts.AccountStore   (domains, users, aliases)
    <data_dir>/mail/<domain>/<local>/       mailstore.MailStore     (Maildir++ + per-user index)
        cur/ new/ tmp/ .Sent/ .Work.Projects/ ... mailtool-index.sqlite
    <data_dir>/queue/                       queue.Queue             (the spool)

Which module for what:

* :mod:`.accounts` - ``AccountStore.in_data_dir(d)``: ``resolve``, ``is_local_domain``,
  ``verify_password``, ``scram_credentials``, ``addresses_of``, CRUD for the CLI.
* :mod:`.mailstore` - ``MailStore(d, accounts=...)``: ``.user(addr)`` -> ``UserMail``
  (folders, ``deliver``, ``usage``, ``watch``) -> ``Folder`` (``status``, ``messages``,
  ``append``, ``store``, ``expunge``, ``copy``, ``move``, ``sync``, ``changes_since``,
  ``open``/``read_bytes``).
* :mod:`.queue` - ``Queue.in_data_dir(d)``: ``enqueue`` (durable on return), ``get``,
  ``list``, ``due``, ``mark``, ``remove``, ``recover``.
* :mod:`.maildir`, :mod:`.index`, :mod:`.sqlite`, :mod:`.address` - the parts underneath.

The store imports only the stdlib, argon2, ``mailtool.errors``/``config`` and
``mailtool.protocol`` (SCRAM key derivation); never a server or asyncio.
"""

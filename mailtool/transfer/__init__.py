"""Moving mail in and out of a user's mailbox: ``mailtool import`` and ``mailtool export``.

Sources (:mod:`.mbox`, :mod:`.maildir`, :mod:`.imap_source`) read another
program's mail and hand each message to :class:`.core.Importer`, which files it
through the store's own append path (Maildir file fsynced, then the index entry:
UIDs and MODSEQs stay right, and IDLE clients of a running server are told by
the store's cross-process notifier). :mod:`.export` writes mbox or Maildir.

Layer: may import ``store``, ``client`` and ``protocol`` (tests/test_layers.py).
"""

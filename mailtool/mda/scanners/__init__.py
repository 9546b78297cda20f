"""Virus and spam scanning before the ``250`` after DATA (pre-queue).

* :mod:`clamd` — ClamAV's clamd over INSTREAM;
* :mod:`spamd` — SpamAssassin's spamd over SPAMC/1.5;
* :mod:`policy` — :class:`~mailtool.mda.scanners.policy.Scanner` turns both
  into one :class:`~mailtool.mda.scanners.policy.ScanVerdict` from the
  ``[scan]`` config: the SMTP reply to give and the ``X-Spam-*`` headers to add.

A scanner that cannot be reached, times out or answers nonsense raises
:class:`ScannerDown`; the policy decides what that means (451 or tag).
"""

from __future__ import annotations

from mailtool.errors import MailtoolError


class ScannerDown(MailtoolError):
    """The scanner could not give an answer (refused, timed out, malformed reply)."""

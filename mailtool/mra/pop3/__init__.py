"""The POP3 server (RFC 1939, 2449, 2595, 5034): ``service`` (factory), ``session``
(state machine), ``maildrop`` (locked INBOX snapshot), ``stream`` (RETR/TOP bodies)."""

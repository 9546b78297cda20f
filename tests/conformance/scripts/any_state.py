"""Any-state commands (RFC 9051 §6.1, RFC 3501 §6.1): CAPABILITY, NOOP, LOGOUT, the
greeting, plus errors: unknown command, bad syntax, wrong state."""

from __future__ import annotations

from tests.conformance.harness import PASSWORD, S, Script

_PRELOGIN = (
    "RFC 9051 §7.2.2 lets the list change after login: Dovecot lists a short set "
    "before it (login_capability), mailtool the whole set"
)

DIFFERENCES = {
    "any-capability-noop-logout#greeting": _PRELOGIN,
    "any-capability-noop-logout#2": _PRELOGIN,
    "any-errors#greeting": _PRELOGIN,
    "any-errors#4": "RFC 9051 §6.1.2: NOOP takes no argument; Dovecot ignores extra "
    "arguments (OK), mailtool answers BAD as the grammar says",
    "any-errors#10": "RFC 9051 §6.4.6: STORE needs a flag list (BAD, mailtool); Dovecot "
    "accepts '+FLAGS' with none (OK)",
    "any-errors#14": "RFC 9051 §6.2.3: LOGIN without arguments is a syntax error (BAD, "
    "mailtool); Dovecot ends the connection (BYE)",
    "any-login-forms#greeting": _PRELOGIN,
    "any-login-forms#greeting-y": _PRELOGIN,
}

SCRIPTS = [
    Script(
        "any-capability-noop-logout",
        [
            S("x", None, wait=None, name="greeting"),
            S("x", "c1 CAPABILITY"),
            S("x", "c2 NOOP"),
            S("x", "c3 LOGOUT"),
            S("a", "a1 CAPABILITY"),
            S("a", "a2 NOOP"),
            S("a", "a3 LOGOUT"),
        ],
        raw=("x",),
    ),
    Script(
        "any-errors",
        [
            S("x", None, wait=None, name="greeting"),
            S("x", "e1 FOOBAR"),
            S("x", "e2 SELECT INBOX"),  # not authenticated: wrong state
            S("x", "e3 NOOP extra"),
            S("x", "e5 LOGIN any-errors@example.test wrong"),
            S("a", "a1 FETCH 1 FLAGS"),  # authenticated, not selected
            S("a", "a2 SELECT"),
            S("a", "a3 SELECT INBOX", ordered=False),
            S("a", "a4 FETCH 1 (FLAGS"),
            S("a", "a5 STORE 1 +FLAGS"),
            S("a", "a6 LOGIN a b"),  # already authenticated
            S("a", "a7 UID FOO 1"),
            S("a", "a8 NOOP"),
            S("x", "e4 LOGIN"),
        ],
        raw=("x",),
    ),
    Script(
        "any-login-forms",
        [
            S("x", None, wait=None, name="greeting"),
            S("x", f'l1 LOGIN "any-login-forms@example.test" "{PASSWORD}"'),
            S("x", "l2 LOGOUT"),
            S("y", None, wait=None, name="greeting-y"),
            S("y", "l1 LOGIN {28}", wait="+"),
            S("y", f'any-login-forms@example.test "{PASSWORD}"', wait="l1"),
            S("y", "l2 LOGOUT"),
        ],
        raw=("x", "y"),
    ),
]

"""The ACME manager's decisions, without a CA: which names, when to renew, backoff."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trustme

from mailtool.acme import manager
from mailtool.acme.client import AcmeError
from mailtool.config import from_dict

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cert(names: list[str], not_after: dt.datetime) -> bytes:
    ca = trustme.CA()
    leaf = ca.issue_cert(*names, not_after=not_after)
    return leaf.cert_chain_pems[0].bytes()


def test_wanted_names_host_first_no_duplicates() -> None:
    names = manager.wanted_names("Mail.A.test.", ("mail.a.test", "x.a.test"), ["a.test", "b.test"])
    assert names == [
        "mail.a.test", "x.a.test", "mta-sts.a.test", "autoconfig.a.test",
        "mta-sts.b.test", "autoconfig.b.test",
    ]  # fmt: skip


def test_renewal_reasons() -> None:
    names = ["mail.a.test", "mta-sts.a.test"]
    later = NOW + dt.timedelta(days=60)
    assert manager.renewal_reason(None, names, NOW) == "no certificate yet"
    assert manager.renewal_reason(b"junk", names, NOW) == "the certificate file cannot be read"
    assert manager.renewal_reason(_cert(names, later), names, NOW) is None
    reason = manager.renewal_reason(_cert(names[:1], later), names, NOW)
    assert reason == "names not in the certificate: mta-sts.a.test"
    # RFC-free policy, Let's Encrypt's advice: renew 30 days before expiry
    assert manager.renewal_reason(_cert(names, NOW + dt.timedelta(days=31)), names, NOW) is None
    due = manager.renewal_reason(_cert(names, NOW + dt.timedelta(days=29)), names, NOW)
    assert due is not None and due.startswith("it expires 2026-01-30")


def test_the_placeholder_is_replaced(tmp_path: Path) -> None:
    cert, _ = manager.ensure_placeholder(tmp_path, "mail.a.test")
    reason = manager.renewal_reason(Path(cert).read_bytes(), ["mail.a.test"], NOW)
    assert reason == "the self-signed placeholder is in use"
    assert Path(cert).stat().st_mode & 0o777 == 0o600


class _Stop(Exception):
    pass


def _manager(tmp_path: Path, issue: Any) -> manager.AcmeManager:
    cfg = from_dict({"data_dir": str(tmp_path), "hostname": "mail.a.test",
                     "listen": {"http": "127.0.0.1:0"}, "tls": {"acme": True}})  # fmt: skip
    ctx = SimpleNamespace(config=cfg, accounts=SimpleNamespace(domains=lambda: ["a.test"]))
    m = manager.AcmeManager(ctx, publish=lambda n, t, v: None, withdraw=lambda n, t: None,  # type: ignore[arg-type]
                            reload=lambda: None)  # fmt: skip
    m._issue = issue  # type: ignore[method-assign]
    return m


def test_failures_back_off_doubling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:
            raise _Stop

    def refuse(names: list[str]) -> Any:
        raise AcmeError("the CA said: no")

    monkeypatch.setattr(manager.asyncio, "sleep", fake_sleep)
    with pytest.raises(_Stop):
        asyncio.run(_manager(tmp_path, refuse).run())
    assert sleeps == [60.0, 120.0, 240.0, 480.0]


def test_a_failing_optional_name_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []

    def issue(names: list[str]) -> Any:
        asked.append(names)
        if "mta-sts.a.test" in names:
            raise AcmeError("validation failed", ["mta-sts.a.test"])
        raise _Stop

    with pytest.raises(_Stop):
        asyncio.run(_manager(tmp_path, issue).run())
    assert asked == [
        ["mail.a.test", "mta-sts.a.test", "autoconfig.a.test"],
        ["mail.a.test", "autoconfig.a.test"],
    ]


def test_acme_needs_the_http_listener() -> None:
    from mailtool.errors import ConfigError

    with pytest.raises(ConfigError, match=r"listen\.http"):
        from_dict({"tls": {"acme": True}})
    with pytest.raises(ConfigError, match=r"tls\.acme"):
        from_dict({"listen": {"http": "127.0.0.1:80"},
                   "tls": {"acme": True, "cert": "a.pem", "key": "b.pem"}})  # fmt: skip


def test_install_reload_and_renewal_30_days_before_expiry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An issued certificate is written (0600) and reloaded; one that expires within 30
    days is renewed at once; one good for longer lets the manager sleep."""
    names = ["mail.a.test", "mta-sts.a.test", "autoconfig.a.test"]
    now = dt.datetime.now(dt.UTC)
    lives = [dt.timedelta(days=29), dt.timedelta(days=90)]
    issued_for: list[list[str]] = []
    reloads: list[bytes] = []
    sleeps: list[float] = []

    def issue(asked: list[str]) -> Any:
        from mailtool.acme.client import Issued

        issued_for.append(asked)
        ca = trustme.CA()
        leaf = ca.issue_cert(*asked, not_after=now + lives[len(issued_for) - 1])
        return Issued(leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes())

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        raise _Stop

    m = _manager(tmp_path, issue)
    m.reload = lambda: reloads.append(m.cert_path.read_bytes())
    monkeypatch.setattr(manager.asyncio, "sleep", fake_sleep)
    with pytest.raises(_Stop):
        asyncio.run(m.run())
    assert issued_for == [names, names]  # the 29-day one was renewed at once
    assert len(reloads) == 2 and reloads[1] == m.cert_path.read_bytes()
    assert sleeps == [manager.CHECK_INTERVAL]  # 90 days left: next look in an hour
    for path in (m.cert_path, m.key_path):
        assert path.stat().st_mode & 0o777 == 0o600


def test_the_start_up_panel_says_what_the_certificate_is(tmp_path: Path) -> None:
    cert, _ = manager.ensure_placeholder(tmp_path, "mail.a.test")
    assert "self-signed placeholder" in manager.panel_note(Path(cert))
    Path(cert).write_bytes(_cert(["mail.a.test"], dt.datetime(2027, 3, 1, tzinfo=dt.UTC)))
    assert manager.panel_note(Path(cert)) == " (ACME: until 2027-03-01, renewed 30 days before)"

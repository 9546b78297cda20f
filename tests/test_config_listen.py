"""A listener left out of ``[listen]`` binds the host the named ones use (issue 15
point 9): never 0.0.0.0 when the admin put every other listener on loopback."""

from __future__ import annotations

import pytest

from mailtool import config as config_mod
from mailtool.config import SERVICE_PORTS


@pytest.fixture(params=[0, 1000], ids=["root", "user"])
def euid(request, monkeypatch) -> int:
    monkeypatch.setattr(config_mod.os, "geteuid", lambda: request.param)
    return request.param


def default_port(service: str, euid: int) -> int:
    standard, twin = SERVICE_PORTS[service]
    return standard if euid == 0 else twin


def test_a_listener_left_out_binds_the_host_of_the_others(euid):
    """Issue 15: every listener set to 127.0.0.1 but ``managesieve`` omitted: 0.0.0.0:4190
    was open (as root)."""
    named = {s: "127.0.0.1:0" for s in SERVICE_PORTS if s != "managesieve"}
    cfg = config_mod.from_dict({"listen": named})
    assert cfg.listen.enabled()["managesieve"] == (
        "127.0.0.1", default_port("managesieve", euid)
    )


def test_the_named_host_is_kept_for_every_left_out_listener_ipv6_too(euid):
    cfg = config_mod.from_dict({"listen": {"smtp": "[::1]:2525", "imap": "[::1]:0"}})
    enabled = cfg.listen.enabled()
    assert set(enabled) == set(SERVICE_PORTS)
    for service in ("submission", "pop3s", "managesieve"):
        assert enabled[service] == ("::1", default_port(service, euid))
    assert enabled["imap"] == ("::1", 0)


def test_named_listeners_on_different_hosts_leave_the_others_off(euid):
    cfg = config_mod.from_dict({"listen": {"smtp": "0.0.0.0:25", "imap": "127.0.0.1:143"}})
    assert set(cfg.listen.enabled()) == {"smtp", "imap"}


def test_switched_off_listeners_name_no_host(euid):
    """``smtp = false`` alone says nothing about where the others go: the defaults."""
    cfg = config_mod.from_dict({"listen": {"smtp": False}})
    enabled = cfg.listen.enabled()
    assert "smtp" not in enabled
    wanted_host = "0.0.0.0" if euid == 0 else "127.0.0.1"
    assert enabled["imap"] == (wanted_host, default_port("imap", euid))


def test_a_malformed_listener_is_still_reported_with_its_key():
    with pytest.raises(config_mod.ConfigError, match=r"listen\.smtp"):
        config_mod.from_dict({"listen": {"smtp": "nohost"}})

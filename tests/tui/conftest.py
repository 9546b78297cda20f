"""TUI tests drive the real app against real servers (see servers.py).

``async def`` tests run in a fresh event loop each (Pilot needs one); no
pytest-asyncio needed.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

from tests.tui.servers import account_config, mail_server  # noqa: F401


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
        return True
    return None

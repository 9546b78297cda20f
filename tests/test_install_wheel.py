"""The built wheel installs and runs outside the source tree (issue 20 point 6).

The wheel is built from a copy of the sources (``pip wheel --no-build-isolation``:
offline, with the venv's setuptools), then installed with ``pip install`` into a fresh
venv and with ``pipx install`` into a private PIPX_HOME, both ``--no-deps --no-index``:
the machine may have no network. The dependencies come from this venv's site-packages
through a ``.pth`` file, so the test checks our package (its files, package data, entry
point), not PyPI. Each install then runs ``mailtool --version``, ``--help``, ``quickstart
--help`` and ``quickstart --yes`` into a temp dir, with HOME and the XDG dirs in tmp.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import mailtool
from tests.peers import require_tool

REPO = Path(__file__).resolve().parent.parent
#: the dev venv's site-packages: the dependencies the installed copies use
DEPS = sysconfig.get_paths()["purelib"]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _purelib(python: Path, env: dict[str, str]) -> str:
    """The site-packages directory of the venv of ``python``."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return _run([str(python), "-c", code], env, python.parent).strip()


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who never ran mailtool: HOME and XDG dirs under ``home``,
    the system config redirected there too (tests run as root), no MAILTOOL_* variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAILTOOL_", "PIP_", "PYTHON", "VIRTUAL_ENV"))}  # fmt: skip
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        MAILTOOL_SYSTEM_CONFIG=str(home / "etc" / "mailtool.toml"),
        PIP_NO_INDEX="1",
        **extra,
    )
    home.mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout stays untouched)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "mailtool", src / "mailtool",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(work / "dist"), str(src)],
         clean_env(work / "home"), work)  # fmt: skip
    (built,) = (work / "dist").glob("mailtool-*.whl")
    return built


def test_the_wheel_holds_every_package_file_and_the_entry_point(wheel: Path) -> None:
    """Every file under mailtool/ (app.tcss: the TUI's stylesheet, read beside app.py)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    ours = {p.relative_to(REPO).as_posix() for p in (REPO / "mailtool").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}  # fmt: skip
    assert "mailtool/tui/app.tcss" in ours
    assert ours <= names, sorted(ours - names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "mailtool = mailtool.cli.main:main" in text


def _first_commands(mailtool_bin: Path, python: Path, home: Path, env: dict[str, str]) -> None:
    """What a new user types first, from an installed copy, in an empty directory."""
    where = _run([str(python), "-c", "import mailtool; print(mailtool.__file__)"], env, home)
    assert not where.startswith(str(REPO)), f"the checkout was imported: {where}"
    probe = "import mailtool.tui as t, pathlib; print((pathlib.Path(t.__file__).parent / "
    tcss = _run([str(python), "-c", probe + "'app.tcss').is_file())"], env, home)
    assert tcss.strip() == "True"
    assert mailtool.__version__ in _run([str(mailtool_bin), "--version"], env, home)
    assert "quickstart" in _run([str(mailtool_bin), "--help"], env, home)
    assert "--password-stdin" in _run([str(mailtool_bin), "quickstart", "--help"], env, home)
    data = home / "maildata"
    quickstart = [str(mailtool_bin), "--data-dir", str(data), "quickstart", "you@example.test",
                  "--yes", "--no-acme", "--password-stdin"]  # fmt: skip
    out = _run(quickstart, env, home, stdin="a long password\n")
    assert "Next steps" in out and "you@example.test" in out
    assert (data / "accounts.db").is_file()


def test_pip_install_of_the_wheel_into_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = clean_env(tmp_path / "home")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env, tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)], env, tmp_path)  # fmt: skip
    site = _purelib(python, env)
    Path(site, "mailtool-test-deps.pth").write_text(DEPS + "\n")
    # every dependency the wheel declares is there (what a real install would fetch)
    _run([sys.executable, "-m", "pip", "--python", str(python), "check"], env, tmp_path)
    _first_commands(venv / "bin" / "mailtool", python, tmp_path / "home", env)


def _shared_libs(python: str, root: Path, env: dict[str, str]) -> None:
    """pipx's shared venv (the pip every app venv uses), made here with this venv's pip:
    pipx would create it with ensurepip, then try to upgrade pip from PyPI (half a minute,
    and the network). A fresh ``bin/pip`` tells pipx it needs no upgrade."""
    root.parent.mkdir(parents=True, exist_ok=True)
    _run([python, "-m", "venv", "--without-pip", str(root)], env, root.parent)
    site = _purelib(root / "bin" / "python", env)
    Path(site, "pip").symlink_to(Path(DEPS, "pip"))
    (root / "bin" / "pip").write_text(f"#!{root / 'bin' / 'python'}\nimport pip\n")


def test_pipx_install_of_the_wheel(wheel: Path, tmp_path: Path) -> None:
    pipx = require_tool("pipx")
    home = tmp_path / "home"
    userbase = tmp_path / "userbase"
    env = clean_env(home, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"),
                    PYTHONUSERBASE=str(userbase))  # fmt: skip
    # pipx's venv sees the user site with --system-site-packages: the dependencies go there
    user_site = _run([sys.executable, "-c", "import site; print(site.getusersitepackages())"],
                     env, tmp_path).strip()  # fmt: skip
    pipx_python = _run(["sh", "-c", 'head -1 "$0" | cut -c3-', pipx], env, tmp_path).strip()
    version = _run([pipx_python, "-c", "import sys; print(sys.version_info[:2])"], env, tmp_path)
    if version.strip() != str(sys.version_info[:2]):
        pytest.skip(f"pipx runs Python {version.strip()}: this venv's packages do not fit")
    Path(user_site).mkdir(parents=True)
    Path(user_site, "mailtool-test-deps.pth").write_text(DEPS + "\n")
    _shared_libs(pipx_python, tmp_path / "pipx" / "shared", env)
    _run([pipx, "install", "--system-site-packages", "--pip-args=--no-deps --no-index",
          str(wheel)], env, tmp_path)  # fmt: skip
    venv = tmp_path / "pipx" / "venvs" / "mailtool"
    _first_commands(tmp_path / "bin" / "mailtool", venv / "bin" / "python", home, env)

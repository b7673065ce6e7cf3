"""JupyterLab as `make lab` serves it (scripts/jupyter.sh): opens on chapter 00, asks nothing."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from workshop.progress import poll_until

ROOT = Path(__file__).resolve().parents[2]
NOTIFICATION = "@jupyterlab/apputils-extension:notification"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str, str]:
    """Status, Location header and body of a GET, without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=5) as answer:
            return answer.status, answer.headers.get("Location", ""), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), ""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL (with token) of JupyterLab started the way `make lab` starts it."""
    base = tmp_path_factory.mktemp("jupyter-first-open")
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ,
        # A learner who never opened JupyterLab: no settings of their own.
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_TOKEN": token,
    }
    log = (base / "jupyter.log").open("wb")
    process = subprocess.Popen(
        [str(ROOT / "scripts/jupyter.sh"), "--no-browser", f"--ServerApp.port={port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(
            lambda: _serving(url, token, process),
            bool,
            timeout=90,
            interval=0.5,
            what="JupyterLab to answer",
        )
        yield f"{url}|{token}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _serving(url: str, token: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"scripts/jupyter.sh exited with {process.returncode}")
    try:
        return _get(f"{url}/api/status?token={token}")[0] == 200
    except OSError:
        return False


def test_first_open_lands_on_chapter_00(served: str) -> None:
    url, token = served.split("|")
    status, location, _ = _get(f"{url}/?token={token}")
    assert status == 302
    assert location.split("?")[0].endswith("/lab/tree/00-welcome.ipynb")
    assert (ROOT / "notebooks/00-welcome.ipynb").is_file()


def test_no_news_or_update_prompt(served: str) -> None:
    url, token = served.split("|")
    status, _, body = _get(f"{url}/lab/api/settings/{NOTIFICATION}?token={token}")
    assert status == 200
    properties = json.loads(body)["schema"]["properties"]
    # JupyterLab's own default is "none": ask the learner on first open.
    assert properties["fetchNews"]["default"] == "false"
    assert properties["checkForUpdates"]["default"] is False

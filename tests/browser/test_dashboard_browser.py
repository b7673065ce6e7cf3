"""What a person sees: the dashboard in JupyterLab, in headless Chromium.

The test starts JupyterLab on a free loopback port with a random token, in a
temporary folder holding a small notebook made here (so nbval never collects it).
The kernel gets the swarm lab's name in its environment, so ``Lab.connect()`` finds
the lab of ``tests.swarm_lab``. Chromium is Debian's, driven by Playwright through
``executable_path``; nothing is downloaded. A screenshot is kept in
``artifacts/dashboard.png``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from tests.swarm_setup import SERVICE, swarm_lab_env
from workshop import Lab

pytest_plugins = ["tests.swarm_lab"]
pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOTEBOOK = "dashboard.ipynb"
# One cell: "Run All" on a busy host has been seen to run the first cell and never
# queue the second, so the whole notebook is one cell.
CELLS = [
    "from workshop import Lab\nfrom workshop.dashboard import SwarmDashboard\n\n"
    f"lab = Lab.connect()\ndashboard = SwarmDashboard(lab, {SERVICE!r})\ndashboard",
]
#: JupyterLab user settings: no news toast, no update check, and the notebook's own
#: kernel started without a "Select Kernel" dialog (it still shows now and then when
#: the kernel specs load slowly, on a busy host).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
    },
}


@dataclass(frozen=True)
class JupyterServer:
    url: str
    token: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path = folder / NOTEBOOK
    nbformat.write(notebook, path)
    return path


def write_settings(folder: Path) -> None:
    for name, values in SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def wait_until_serving(
    url: str, token: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer within {timeout:g} s:\n{log.read_text()}")


def api(server: JupyterServer, path: str, body: object = None) -> Any:
    """Call the Jupyter server's REST API (GET, or POST with a JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}/api/{path}",
        data=data,
        method="GET" if body is None else "POST",
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def start_kernel_session(server: JupyterServer) -> None:
    """Start the notebook's kernel through the API, so the page finds it running.

    Otherwise JupyterLab may ask "Select Kernel" (with "No Kernel" chosen) when the
    kernel specs load slowly, on a busy host.
    """
    specs = api(server, "kernelspecs")
    assert "python3" in specs["kernelspecs"], specs
    api(
        server,
        "sessions",
        {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}},
    )


@pytest.fixture(scope="module")
def jupyter(swarm_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("jupyter")
    root, settings = base / "root", base / "settings"
    root.mkdir()
    write_notebook(root)
    write_settings(settings)
    token, port = secrets.token_hex(16), free_port()
    env = {
        **os.environ,
        **swarm_lab_env(),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    env.pop("WORKSHOP_INVENTORY", None)
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "jupyter-dashboard.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, token, process, log)
        server = JupyterServer(url, token, log)
        start_kernel_session(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def outputs_text(page: Page) -> str:
    """Every cell output's text (for failure messages)."""
    return "\n---\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


def wait_for(page: Page, script: str, what: str, timeout: float = 120) -> None:
    """Wait until ``script`` is true in the page; fail with the outputs and a screenshot."""
    try:
        page.wait_for_function(script, timeout=timeout * 1000)
    except PlaywrightError:
        fail_with_page(page, f"no {what} after {timeout:g} s")


CELL_STARTED = (
    "() => Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
    ".some(p => /\\[(\\*|\\d+)\\]/.test(p.innerText))"
)


def fail_with_page(page: Page, message: str) -> None:
    """Fail with the page's dialogs and cell outputs, keeping a screenshot."""
    page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
    dialogs = page.locator(".jp-Dialog").all_inner_texts()
    pytest.fail(f"{message}\ndialogs: {dialogs}\ncell outputs:\n{outputs_text(page)}")


def run_all_cells(page: Page, attempts: int = 5) -> None:
    """Run > Run All Cells, again until a cell starts (the command is off until the
    kernel's session is ready, and a click on a disabled item does nothing)."""
    for _ in range(attempts):
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and "Select Kernel" in dialog.inner_text():
            dialog.locator("select").select_option(label="Python 3 (ipykernel)")
            dialog.locator("button.jp-mod-accept").click()
            page.wait_for_selector(".jp-Dialog", state="detached", timeout=10_000)
        if dialog.count():
            fail_with_page(page, "a dialog is in the way")
        page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=10_000)
        item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
        item.wait_for(timeout=10_000)
        if "lm-mod-disabled" in (item.get_attribute("class") or ""):
            page.keyboard.press("Escape")
            time.sleep(2)
            continue
        item.click()
        try:
            page.wait_for_function(CELL_STARTED, timeout=15_000)
            return
        except PlaywrightError:
            continue
    fail_with_page(page, f"Run All Cells did not start a cell in {attempts} attempts")


DASHBOARD_OR_ERROR = (
    "() => document.querySelector('.workshop-dashboard') !== null"
    " || document.querySelector('.jp-OutputArea-output[data-mime-type$=\"stderr\"]') !== null"
    " || document.querySelector('.jp-OutputArea-output.jp-mod-error') !== null"
)
PLOT_DRAWN = (
    "() => { const i = document.querySelector('img.workshop-replica-map');"
    " return i !== null && i.naturalWidth > 100; }"
)
DRAWN = (
    "() => { const d = document.querySelector('.workshop-dashboard');"
    " return d.innerText.includes('leader') && d.innerText.includes('node-3')"
    " && d.querySelectorAll('.workshop-nodes .widget-toggle-buttons').length === 3; }"
)


def test_dashboard_renders_in_jupyterlab(jupyter: JupyterServer) -> None:
    screenshot = ARTIFACTS / "dashboard.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{jupyter.url}/lab/tree/{NOTEBOOK}?token={jupyter.token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
            )
            run_all_cells(page)
            wait_for(page, DASHBOARD_OR_ERROR, "dashboard widget")
            assert page.locator(".workshop-dashboard").count() == 1, outputs_text(page)
            wait_for(page, PLOT_DRAWN, "replica map image")
            wait_for(page, DRAWN, "swarm summary and node rows", timeout=60)
            text = page.locator(".workshop-dashboard").inner_text()
            assert "Swarm: 3 nodes" in text and "node-3" in text
            assert page.locator(".workshop-dashboard .workshop-error").count() == 0, text
            assert page.locator(".workshop-nodes .widget-toggle-buttons").count() == 3
            page.locator(".workshop-dashboard").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000

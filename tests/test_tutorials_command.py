"""``./nas.sh tutorials`` serves the quickstart notebook: started, asked for it, stopped.

Runs the real command non-interactively (no browser, a free port, the packages already in .venv)
and talks to the server with the token the command printed. Needs the project's .venv, as the
command itself does (``./nas.sh test`` creates it before running this).
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab/tree/00_quickstart\.ipynb\?token=(\w+))")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


@pytest.fixture
def tutorials():
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv: ./nas.sh test creates it")
    port = free_port()
    env = {**os.environ, "NAS_TOOLKIT_PORT": str(port), "NAS_TOOLKIT_NO_BROWSER": "1", "NAS_TOOLKIT_INSTALL": "0"}
    env.pop("NAS_TOOLKIT_TOKEN", None)
    process = subprocess.Popen(["./nas.sh", "tutorials"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        yield process, port, lines
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and anything it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        reader.join(timeout=10)


def test_tutorials_serves_the_quickstart_on_localhost_with_a_token(tutorials):
    process, port, lines = tutorials
    deadline = time.monotonic() + 180
    match = None
    while match is None and time.monotonic() < deadline and process.poll() is None:
        match = next((m for m in map(URL.search, list(lines)) if m), None)
        time.sleep(0.1)
    assert match, "no URL printed:\n" + "".join(lines)
    url, printed_port, token = match.groups()
    assert int(printed_port) == port
    api = f"http://127.0.0.1:{port}/api/contents/00_quickstart.ipynb"
    status = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = get(f"{api}?token={token}")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    assert status == 200, "server did not answer:\n" + "".join(lines)
    notebook = json.loads(body)
    assert notebook["type"] == "notebook" and notebook["name"] == "00_quickstart.ipynb"
    assert notebook["content"]["cells"], "the quickstart came back empty"
    assert get(api)[0] == 403  # no token, no notebook
    assert get(url)[0] == 200  # the printed URL opens JupyterLab
    assert "Running as root is not recommended" not in "".join(lines)

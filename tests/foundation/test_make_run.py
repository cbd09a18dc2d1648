"""`make run` on the embedded defaults serves the admin with the given admin password."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "PUBLIC_BASE_URL"}
    }
    env.update(PORT=str(port), ADMIN_PASSWORD="secret", DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}")
    log = open(tmp_path / "make-run.log", "wb")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{base}/admin/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("make run did not serve:\n" + (tmp_path / "make-run.log").read_text()[-4000:])
            time.sleep(0.5)
        yield base, tmp_path / "make-run.log"
    finally:
        # Ctrl-C, as a person would stop it.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_make_run_serves_admin_and_admin_logs_in(make_run):
    base, log_path = make_run
    session = requests.Session()
    login_page = session.get(f"{base}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    response = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"username": "admin", "password": "secret", "csrfmiddlewaretoken": token, "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "Site administration" in response.text
    log = log_path.read_text()
    assert f"{base}/agent/" in log and f"{base}/simulator/" in log
    assert session.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"

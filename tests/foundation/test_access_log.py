"""The server's access log goes through our logging, so a token in a URL path is masked."""

import requests

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_access_log_masks_tokens_in_paths(live_daphne):
    response = requests.get(f"{live_daphne.url}/simulator/api/telegram/bot{TOKEN}/getMe", timeout=10)
    assert response.status_code in (401, 404)
    requests.get(f"{live_daphne.url}/healthz", timeout=10)
    log = live_daphne.log_path.read_text()
    assert "/healthz" in log  # the access log is there...
    assert "/simulator/api/telegram/bot[telegram-token]/getMe" in log
    assert TOKEN not in log  # ...without the token

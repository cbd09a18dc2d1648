import logging

from contactcenter.logging import RedactSecretsFilter, mask_secret, redact

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_redact_masks_tokens_in_urls_and_headers():
    text = (
        f"POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage "
        "?access_token=EAABsbCS1iHgBAAAsecret Authorization: Bearer abcdefghijklmnop123"
    )
    cleaned = redact(text)
    assert TELEGRAM_TOKEN not in cleaned
    assert "EAABsbCS1iHgBAAAsecret" not in cleaned
    assert "abcdefghijklmnop123" not in cleaned
    assert "/sendMessage" in cleaned


def test_filter_masks_message_args_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling %s", (f"/bot{TELEGRAM_TOKEN}/getMe",), None)
    try:
        raise RuntimeError(f"failed for {TELEGRAM_TOKEN}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    assert TELEGRAM_TOKEN not in record.getMessage()
    assert TELEGRAM_TOKEN not in record.exc_text
    assert "RuntimeError" in record.exc_text


def test_mask_secret_shows_only_the_tail():
    assert mask_secret("") == "not set"
    assert mask_secret(TELEGRAM_TOKEN) == "set, ends in …Dsaw"
    assert mask_secret("short") == "set"

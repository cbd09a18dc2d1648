"""viber API calls. Placeholder until the integration-accounts work lands."""

TEXT_LIMIT = 7000


def set_webhook(account, url):
    raise NotImplementedError


def webhook_info(account):
    raise NotImplementedError


def test_connection(account):
    raise NotImplementedError


def send_text(account, *, to, text, idempotency_key, **options):
    raise NotImplementedError


def fetch_profile(account, external_id):
    return None

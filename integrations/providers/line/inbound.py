"""line webhook verification and parsing. Placeholder until the webhooks work lands."""

from integrations.providers.base import WebhookRejected


def verify(account, request):
    raise WebhookRejected("not implemented")


def parse(account, request):
    raise NotImplementedError


def handshake(account, request):
    return None

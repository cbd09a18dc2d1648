"""Celery tasks of conversations: thin wrappers that load rows and call services."""

import logging

from celery import shared_task

from conversations.models import Customer
from conversations.services import apply_profile

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, default_retry_delay=30, ignore_result=True)
def fetch_customer_profile(self, customer_id: int) -> None:
    """Fetch a Facebook/LINE customer's name from the platform, once, off the webhook path."""
    from integrations.providers import get_provider
    from integrations.providers.base import PlatformError

    customer = Customer.objects.select_related("account").filter(pk=customer_id).first()
    if customer is None or customer.profile_fetched_at is not None:
        return
    provider = get_provider(customer.account.messenger)
    try:
        profile = provider.fetch_profile(customer.account, customer.external_id)
    except PlatformError as exc:
        if exc.retryable:
            raise self.retry(exc=exc) from None
        # A permanent refusal (not a friend, no permission) will not change: record the try.
        logger.info("profile of customer %s not available: %s", customer_id, exc.text)
        profile = None
    apply_profile(customer=customer, profile=profile)

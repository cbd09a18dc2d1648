"""Customer names from the platforms' profile APIs (Facebook, LINE), fetched once."""

from __future__ import annotations

import logging

from conversations.models import Customer
from conversations.services import apply_profile
from integrations.providers import get_provider
from integrations.providers.base import PlatformError

logger = logging.getLogger(__name__)
FETCH_TASK = "integrations.tasks.fetch_customer_profile"


def needs_profile(customer: Customer, messenger: str) -> bool:
    """The customer's names come from a profile API and were never fetched."""
    return get_provider(messenger).FETCHES_PROFILE and customer.profile_fetched_at is None


def fetch_profile(*, customer_id: int) -> None:
    """Fetch and store the customer's profile; raises PlatformError when a retry may help."""
    customer = Customer.objects.select_related("account").filter(pk=customer_id).first()
    if customer is None or customer.profile_fetched_at is not None:
        return
    try:
        profile = get_provider(customer.account.messenger).fetch_profile(customer.account, customer.external_id)
    except PlatformError as exc:
        if exc.retryable:
            raise
        # A permanent refusal (not a friend, no permission) will not change: record the try.
        logger.info("profile of customer %s not available: %s", customer_id, exc.text)
        profile = None
    apply_profile(customer=customer, profile=profile)

"""One error shape for the API: `{"field": ["message", ...], "non_field_errors": [...]}` with 400.

Model validation (`full_clean`, the admin's rules) and database constraint violations are
turned into the same shape instead of a 500.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


def as_drf_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): [
                m for e in errors for m in e.messages
            ]
            for field, errors in exc.error_dict.items()
        }
    else:
        detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    return exceptions.ValidationError(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = as_drf_error(exc)
    elif isinstance(exc, IntegrityError):
        exc = exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: ["This conflicts with an existing record (a unique rule)."]}
        )
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response

"""The signed, expiring links through which a platform (or a customer, for a file sent as a
link) fetches one of our outbound files. No session: the signature is the permission."""

from django.http import HttpResponseForbidden
from django.views.decorators.http import require_GET

from integrations import media


@require_GET
def link(request, token: str, name: str):
    try:
        message = media.message_for_link(token)
    except media.LinkInvalid as exc:
        return HttpResponseForbidden(str(exc), content_type="text/plain; charset=utf-8")
    return media.file_response(message)

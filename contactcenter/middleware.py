"""Small request guards that apply to every page."""

from django.http import HttpResponseBadRequest


class RejectNulMiddleware:
    """A NUL character in a query parameter is answered 400.

    PostgreSQL text cannot hold NUL, so `?status__exact=%00` on an admin list would fail in
    the database with a 500; no page of ours has a use for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest("Bad Request: NUL character in the URL", content_type="text/plain")
        return self.get_response(request)

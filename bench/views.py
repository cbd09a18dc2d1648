"""Baseline views: what one INSERT through Django's full request path costs on a server."""

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_one_insert"


@csrf_exempt
def one_insert(request):
    """POST: one INSERT ... ON CONFLICT DO NOTHING of the body (autocommit), then 200."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (body) VALUES (%s) ON CONFLICT DO NOTHING",  # noqa: S608 (a constant)
            [request.body.decode()],
        )
    return HttpResponse("OK", content_type="text/plain")


def trivial(request):
    return HttpResponse("OK", content_type="text/plain")

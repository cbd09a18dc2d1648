"""The supervisor's interaction records: search, transcript, CSV export (streamed)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from api.records import InteractionFilter, base_queryset, csv_rows, transcript, visible_to

LOGIN_URL = "/agent/login/"


def _filtered(request):
    form = InteractionFilter(request.GET or None)
    queryset = visible_to(request.user, base_queryset())
    if form.is_bound and form.is_valid():
        queryset = form.apply(queryset)
    elif form.is_bound:
        queryset = queryset.none()
    return form, queryset


@staff_member_required(login_url=LOGIN_URL)
def records(request):
    form, queryset = _filtered(request)
    page = Paginator(queryset.order_by("-opened_at", "-id"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "api/records.html", {"form": form, "page": page, "query": query.urlencode()})


@staff_member_required(login_url=LOGIN_URL)
def transcript_view(request, interaction_id: int):
    interaction = visible_to(request.user, base_queryset()).filter(pk=interaction_id).first()
    if interaction is None:
        raise Http404("No such interaction record.")
    return render(
        request,
        "api/transcript.html",
        {"interaction": interaction, "messages": transcript(interaction), "assignments": interaction.assignments.all()},
    )


@staff_member_required(login_url=LOGIN_URL)
def export_csv(request):
    form, queryset = _filtered(request)
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="interactions-{stamp}.csv"'
    return response

"""Pages of the Agent Desktop: login and logout, the desktop, the supervisor view. Thin."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agentdesk import history, notes, selectors, services, states
from agentdesk.models import Agent
from conversations.models import Message
from integrations.media import file_response
from integrations.models import Messenger


def _is_agent(user) -> bool:
    return user.is_authenticated and Agent.objects.filter(user_id=user.pk).exists()


def login_view(request):
    """Log in to the desktop: the agent becomes Not Ready (or Ready, per its profile)."""
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if not _is_agent(user) and not user.is_staff:
            form.add_error(None, "This account is not set up as an agent. Ask an administrator.")
        else:
            login(request, user)
            if _is_agent(user):
                services.log_in(agent_user=user)
                return redirect(_safe_next(request) or reverse("agentdesk:desktop"))
            return redirect(reverse("agentdesk:supervisor"))
    return render(request, "agentdesk/login.html", {"form": form})


def _safe_next(request) -> str:
    """The ?next= target only when it stays on this site (no open redirect)."""
    target = request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


@require_POST
def logout_view(request):
    if _is_agent(request.user):
        services.log_out(agent_user=request.user)
    logout(request)
    return redirect(reverse("agentdesk:login"))


@login_required
def desktop(request):
    if not _is_agent(request.user):
        return HttpResponseForbidden("This account is not set up as an agent.")
    config = {
        "wsPath": "/ws/agent/",
        "heartbeatSeconds": states.heartbeat_interval(),
        "username": request.user.get_username(),
        "historyUrl": reverse("agentdesk:history-search"),
        "outboundUrl": reverse("agentdesk:outbound-options"),
    }
    return render(request, "agentdesk/desktop.html", {"config": config, "messengers": Messenger.choices})


@staff_member_required(login_url="/agent/login/")
def supervisor(request):
    return render(request, "agentdesk/supervisor.html", {"messengers": Messenger.choices})


@staff_member_required(login_url="/agent/login/")
def supervisor_data(request):
    return JsonResponse(selectors.supervisor_overview())


@require_POST
@staff_member_required(login_url="/agent/login/")
def supervisor_force(request, agent_id: int):
    state = request.POST.get("state", "")
    try:
        services.force_state(supervisor=request.user, agent_id=agent_id, state=state)
    except (services.DeskError, Agent.DoesNotExist) as exc:
        if request.headers.get("accept") == "application/json":
            return JsonResponse({"error": str(exc) or "No such agent."}, status=400)
        messages.error(request, str(exc) or "No such agent.")
        return redirect(reverse("agentdesk:supervisor"))
    if request.headers.get("accept") == "application/json":
        return JsonResponse({"ok": True})
    return redirect(reverse("agentdesk:supervisor"))


# --- Conversation history and private notes (agents: their own chats; supervisors: all) -----


def _may_search(user) -> bool:
    return user.is_staff or _is_agent(user)


@login_required
def history_search(request):
    """Past conversations by a word, the customer, dates and messenger, as JSON."""
    if not _may_search(request.user):
        return HttpResponseForbidden("Agents and supervisors only.")
    results = history.search(
        user=request.user,
        text=request.GET.get("q", ""),
        messenger=request.GET.get("messenger", ""),
        date_from=history.parse_date(request.GET.get("from", "")),
        date_to=history.parse_date(request.GET.get("to", "")),
    )
    return JsonResponse({"results": results})


@login_required
def history_transcript(request, interaction_id: int):
    if not _may_search(request.user):
        return HttpResponseForbidden("Agents and supervisors only.")
    transcript = history.transcript(user=request.user, interaction_id=interaction_id)
    if transcript is None:
        raise Http404("No such conversation among yours.")
    return JsonResponse(transcript)


@require_POST
@login_required
def history_add_note(request, interaction_id: int):
    """A private note from the history view or the supervisor page (the desktop uses its socket)."""
    if not _may_search(request.user):
        return HttpResponseForbidden("Agents and supervisors only.")
    try:
        note = notes.add_note(author=request.user, interaction_id=interaction_id, text=request.POST.get("text", ""))
    except notes.NoteRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"note": notes.serialize_note(note)}, status=201)


# --- Attachments -------------------------------------------------------------------------


def media(request, message_id: int):
    """A chat attachment's file, streamed, to the agents who took part in the chat and to
    supervisors; anyone else, logged in or not, gets 403."""
    message = Message.objects.filter(pk=message_id).first()
    allowed = request.user.is_authenticated and message is not None
    if not allowed or not notes.may_read(request.user, message.interaction_id):
        return HttpResponseForbidden("This file belongs to a chat that is not yours.")
    if message.media_status != Message.MediaStatus.STORED or not message.media:
        raise Http404("This file is not available.")
    return file_response(message)


@require_POST
@login_required
def upload_attachment(request, interaction_id: int):
    """The agent's file with its caption (multipart: `file`, `caption`); JSON answer."""
    if not _is_agent(request.user):
        return JsonResponse({"error": "This account is not set up as an agent."}, status=403)
    upload = request.FILES.get("file")
    try:
        messages_ = services.send_attachment(
            agent_user=request.user,
            interaction_id=interaction_id,
            upload=upload,
            file_name=upload.name if upload else "",
            caption=request.POST.get("caption", ""),
        )
    except services.DeskError as exc:
        return JsonResponse({"error": str(exc), "code": exc.code}, status=400)
    return JsonResponse({"messages": [selectors.serialize_message(m) for m in messages_]}, status=201)


def favicon(request):
    """Browsers ask for /favicon.ico on every page, the admin's and the simulator's included."""
    return redirect(static("agentdesk/favicon.svg"), permanent=True)


# --- Agent-started chats ("New chat") ---------------------------------------------------

OUTBOUND_NOTE = (
    "You can write only to customers who wrote to this account before: the platforms allow no "
    "other. On Facebook your message goes out only within 24 hours of the customer's last "
    "message, or up to 7 days with the Human Agent tag where the page has that permission."
)


@login_required
def outbound_options(request):
    """The services whose outbound chat accounts the agent may use, and what the platforms allow."""
    agent = Agent.objects.filter(user_id=request.user.pk).first()
    if agent is None:
        return HttpResponseForbidden("Not an agent.")
    choices = [
        {
            "id": service.pk,
            "name": service.name,
            "accounts": [
                {
                    "id": str(a.pk),
                    "name": a.name,
                    "messenger": a.messenger,
                    "messenger_label": a.get_messenger_display(),
                }
                for a in accounts
            ],
        }
        for service, accounts in services.outbound_services(agent)
    ]
    return JsonResponse({"services": choices, "note": OUTBOUND_NOTE})


@login_required
def outbound_customers(request):
    """Known customers of one of the agent's outbound accounts, by name, username or id."""
    agent = Agent.objects.filter(user_id=request.user.pk).first()
    if agent is None:
        return HttpResponseForbidden("Not an agent.")
    allowed = {str(a.pk): a for _, accounts in services.outbound_services(agent) for a in accounts}
    account = allowed.get(request.GET.get("account", ""))
    if account is None:
        raise Http404("No such outbound account.")
    found = services.search_customers(account=account, query=request.GET.get("q", ""))
    now = timezone.now()
    return JsonResponse(
        {
            "customers": [
                {
                    "id": c.pk,
                    "name": c.name,
                    "username": c.username,
                    "external_id": c.external_id,
                    "last_inbound_at": c.last_inbound_at,
                    # Facebook's window, said before the agent writes (empty elsewhere).
                    "refusal": services.window_refusal(customer=c, now=now),
                }
                for c in found
            ]
        }
    )


@login_required
@require_POST
def outbound_start(request):
    """Start the chat: the first message goes out and the chat opens on the agent's desktop."""
    try:
        interaction = services.start_outbound_chat(
            agent_user=request.user,
            service_id=int(request.POST.get("service") or 0),
            customer_id=int(request.POST.get("customer") or 0),
            text=request.POST.get("text", ""),
        )
    except (services.DeskError, ValueError) as exc:
        return JsonResponse({"error": str(exc), "code": getattr(exc, "code", "invalid")}, status=400)
    return JsonResponse({"interaction_id": interaction.pk}, status=201)

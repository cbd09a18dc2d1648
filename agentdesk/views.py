"""Pages of the Agent Desktop: login and logout, the desktop, the supervisor view. Thin."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agentdesk import selectors, services, states
from agentdesk.models import Agent


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
    }
    return render(request, "agentdesk/desktop.html", {"config": config})


@staff_member_required(login_url="/agent/login/")
def supervisor(request):
    return render(request, "agentdesk/supervisor.html")


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

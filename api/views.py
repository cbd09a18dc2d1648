"""API v1 views: thin; every write goes through the product's forms, validators and services."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, filters, mixins, permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from agentdesk.models import Agent, CannedResponse, NotReadyReason
from agentdesk.services import DeskError, NotYourChat, outbound_services, send_reply, set_state, start_outbound_chat
from api import serializers as s
from api.authentication import ApiTokenAuthentication
from api.errors import api_exception_handler
from api.permissions import ActionPermission, StaffModelPermissions
from api.records import InteractionFilter, base_queryset, transcript, visible_to
from api.throttling import TokenRateThrottle
from conversations.models import Customer, Interaction
from integrations.models import IntegrationAccount
from integrations.services import account_set_webhook, account_test_connection
from scenarios.models import Disposition, HoursOfOperation, Scenario, ScenarioEntry, Service, Skill, Team


class ApiMixin:
    """Token or session (with CSRF) authentication, per-token throttling, one error shape."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [StaffModelPermissions]
    throttle_classes = [TokenRateThrottle]

    def get_exception_handler(self):
        return api_exception_handler

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()


class ConfigViewSet(ApiMixin, viewsets.ModelViewSet):
    """Configuration: staff users with the model's Django permissions, like the admin."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]


# --- Integration accounts -----------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("messenger", OpenApiTypes.STR, description="Only accounts of this type.")]
    )
)
class IntegrationAccountViewSet(ConfigViewSet):
    """Integration accounts; credentials are write-only and never returned."""

    queryset = IntegrationAccount.objects.all()
    serializer_class = s.IntegrationAccountSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        messenger = self.request.query_params.get("messenger")
        return queryset.filter(messenger=messenger) if messenger else queryset

    @extend_schema(request=None, responses=s.AccountActionResultSerializer)
    @action(detail=True, methods=["post"], url_path="set-webhook", permission_classes=[ActionPermission])
    def set_webhook(self, request, pk=None):
        """Register the account's webhook with its platform (the admin's Set Webhook button)."""
        outcome = account_set_webhook(account=self.get_object())
        return Response({"ok": outcome.ok, "message": outcome.message, "info": outcome.info})

    @extend_schema(request=None, responses=s.AccountActionResultSerializer)
    @action(detail=True, methods=["post"], url_path="test-connection", permission_classes=[ActionPermission])
    def test_connection(self, request, pk=None):
        """Check the credentials against the platform (the admin's Test Connection button)."""
        result = account_test_connection(account=self.get_object())
        word = "succeeded" if result.ok else "failed"
        return Response({"ok": result.ok, "message": f"Test Connection {word}: {result.message}", "info": ""})


# --- Organisation and flow ----------------------------------------------------------------


class SkillViewSet(ConfigViewSet):
    queryset = Skill.objects.all()
    serializer_class = s.SkillSerializer


class TeamViewSet(ConfigViewSet):
    queryset = Team.objects.all()
    serializer_class = s.TeamSerializer


class ServiceViewSet(ConfigViewSet):
    queryset = Service.objects.select_related("skill")
    serializer_class = s.ServiceSerializer


class HoursOfOperationViewSet(ConfigViewSet):
    queryset = HoursOfOperation.objects.prefetch_related("weekly", "holidays")
    serializer_class = s.HoursOfOperationSerializer


class DispositionViewSet(ConfigViewSet):
    queryset = Disposition.objects.all()
    serializer_class = s.DispositionSerializer


class NotReadyReasonViewSet(ConfigViewSet):
    queryset = NotReadyReason.objects.all()
    serializer_class = s.NotReadyReasonSerializer


class CannedResponseViewSet(ConfigViewSet):
    queryset = CannedResponse.objects.all()
    serializer_class = s.CannedResponseSerializer


class ScenarioViewSet(ConfigViewSet):
    queryset = Scenario.objects.prefetch_related("blocks")
    serializer_class = s.ScenarioSerializer


class ScenarioEntryViewSet(ConfigViewSet):
    queryset = ScenarioEntry.objects.prefetch_related("account_assignments")
    serializer_class = s.ScenarioEntrySerializer


# --- Agents -------------------------------------------------------------------------------


class IsAgent(permissions.BasePermission):
    """The user has an agent profile (the state and `me` actions are the agent's own)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and hasattr(request.user, "agent_profile"))


class AgentViewSet(ConfigViewSet):
    """Agent profiles (staff). An agent reads its own profile at `me/` and changes only its own state."""

    queryset = Agent.objects.select_related("user").prefetch_related("skills")
    serializer_class = s.AgentSerializer

    @action(detail=False, methods=["get"], permission_classes=[IsAgent])
    def me(self, request):
        return Response(self.get_serializer(request.user.agent_profile).data)

    @extend_schema(request=s.AgentStateSerializer, responses=s.AgentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAgent])
    def state(self, request, pk=None):
        """Ready, Not Ready (with a reason) or Logged out: only for the agent's own profile."""
        agent = Agent.objects.filter(pk=pk).first()
        if agent is None:
            raise exceptions.NotFound()
        if agent.user_id != request.user.pk:
            raise exceptions.PermissionDenied("An agent may change only its own state.")
        body = s.AgentStateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason")
        try:
            agent = set_state(
                agent_user=request.user, state=body.validated_data["state"], reason_id=reason.pk if reason else None
            )
        except DeskError as exc:
            raise exceptions.ValidationError({"reason" if "reason" in exc.code else "state": [str(exc)]}) from exc
        agent.refresh_from_db()
        return Response(self.get_serializer(agent).data)


# --- Customers and interactions -----------------------------------------------------------


class CustomerViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Customer.objects.select_related("account")
    serializer_class = s.CustomerSerializer


class InteractionAccess(permissions.BasePermission):
    """Staff with the view permission, or an agent (who then sees only its own chats)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return (user.is_staff and user.has_perm("conversations.view_interaction")) or hasattr(user, "agent_profile")


# Which request field a refused start is about (the rest: non_field_errors).
OUTBOUND_ERROR_FIELDS = {
    "empty": "text",
    "refused": "text",
    "no_account": "account",
    "unknown_customer": "customer",
    "unreachable": "customer",
    "outside_window": "customer",
    "busy_customer": "customer",
}


class InteractionCursor(CursorPagination):
    ordering = "-opened_at"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class MessageCursor(CursorPagination):
    ordering = "id"
    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


_FILTER_PARAMS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "closed"]),
    OpenApiParameter("service", OpenApiTypes.INT),
    OpenApiParameter("agent", OpenApiTypes.INT, description="User id of an agent who took part."),
    OpenApiParameter("messenger", OpenApiTypes.STR, enum=["facebook", "line", "nexmo", "telegram", "viber"]),
    OpenApiParameter("account", OpenApiTypes.UUID),
    OpenApiParameter("customer", OpenApiTypes.INT),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Opened on or after this day."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Opened on or before this day."),
]


@extend_schema_view(list=extend_schema(parameters=_FILTER_PARAMS))
class InteractionViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Interaction records: staff see all, an agent its own; filters, ordering, cursor pages."""

    queryset = Interaction.objects.none()  # the schema's model; get_queryset() is what is served
    serializer_class = s.InteractionSerializer
    permission_classes = [InteractionAccess]
    pagination_class = InteractionCursor
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["opened_at", "closed_at", "id"]
    ordering = ["-opened_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Interaction.objects.none()
        queryset = visible_to(self.request.user, base_queryset())
        if self.action == "list":
            form = InteractionFilter(self.request.query_params)
            if not form.is_valid():
                raise exceptions.ValidationError({k: list(v) for k, v in form.errors.items()})
            queryset = form.apply(queryset)
        return queryset

    @extend_schema(methods=["GET"], responses=s.MessageSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.SendMessageSerializer, responses={201: s.MessageSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], pagination_class=MessageCursor, filter_backends=[])
    def messages(self, request, pk=None):
        """GET: the transcript. POST: the agent's reply, queued and sent like the desktop's."""
        interaction = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(transcript(interaction))
            return self.get_paginated_response(s.MessageSerializer(page, many=True).data)
        body = s.SendMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            sent = send_reply(agent_user=request.user, interaction_id=interaction.pk, text=body.validated_data["text"])
        except NotYourChat as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DeskError as exc:
            raise exceptions.ValidationError({"text": [str(exc)]}) from exc
        return Response(s.MessageSerializer(sent, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.StartOutboundChatSerializer, responses={201: s.InteractionSerializer})
    @action(detail=False, methods=["post"], url_path="outbound", permission_classes=[IsAgent])
    def outbound(self, request):
        """Start a chat with a known customer from an outbound account of one of the agent's services.

        The first message is queued; the chat is the agent's at once, counted against its capacity,
        as the desktop's New chat does. Facebook: only within its 24-hour window (or the Human Agent
        tag's 7 days where the page has that permission)."""
        body = s.StartOutboundChatSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = body.validated_data["account"]
        agent = request.user.agent_profile
        service = next((svc for svc, accounts in outbound_services(agent) if account in accounts), None)
        if service is None:
            raise exceptions.PermissionDenied("This account is not an outbound chat account of your services.")
        try:
            interaction = start_outbound_chat(
                agent_user=request.user,
                service_id=service.pk,
                customer_id=body.validated_data["customer"].pk,
                text=body.validated_data["text"],
            )
        except DeskError as exc:
            field = OUTBOUND_ERROR_FIELDS.get(exc.code, api_settings.NON_FIELD_ERRORS_KEY)
            raise exceptions.ValidationError({field: [str(exc)]}) from exc
        interaction = base_queryset().get(pk=interaction.pk)
        return Response(s.InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)

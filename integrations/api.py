"""REST API of integration accounts (read-only): what the admin shows, never a credential."""

from django.urls import include, path
from rest_framework import permissions, serializers, viewsets
from rest_framework.routers import DefaultRouter

from contactcenter.logging import mask_secret
from integrations.forms import FORMS, SECRET_FIELDS
from integrations.models import IntegrationAccount
from integrations.services import webhook_target_url


class IntegrationAccountSerializer(serializers.ModelSerializer):
    webhook_url = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField(help_text='Each credential of the type: "set, ends in …1234".')

    class Meta:
        model = IntegrationAccount
        fields = [
            "id",
            "messenger",
            "name",
            "enabled",
            "username",
            "page_id",
            "application_id",
            "sender_id",
            "webhook_host",
            "api_base_url",
            "webhook_url",
            "credentials",
            "webhook_registered_url",
            "webhook_set_at",
            "last_webhook_ok",
            "last_webhook_message",
            "last_test_ok",
            "last_test_message",
            "last_test_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, account: IntegrationAccount) -> str:
        return webhook_target_url(account)

    def get_credentials(self, account: IntegrationAccount) -> dict[str, str]:
        form = FORMS.get(account.messenger)
        names = [name for name in SECRET_FIELDS if form and name in form.Meta.fields]
        return {name: mask_secret(getattr(account, name)) for name in names}


class AdminModelPermissions(permissions.DjangoModelPermissions):
    """Like the admin: reading needs the view (or change) permission, not just a staff flag."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD") and request.user.has_perm("integrations.change_integrationaccount"):
            return True
        return super().has_permission(request, view)


class IntegrationAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """Integration accounts; staff users with the model's view permission, as in the admin."""

    permission_classes = [permissions.IsAdminUser, AdminModelPermissions]
    queryset = IntegrationAccount.objects.all()
    serializer_class = IntegrationAccountSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        messenger = self.request.query_params.get("messenger")
        return queryset.filter(messenger=messenger) if messenger else queryset


router = DefaultRouter()
router.register("integration-accounts", IntegrationAccountViewSet, basename="integration-account")

urlpatterns = [path("", include(router.urls))]

"""Who may do what: configuration follows Django's model permissions, exactly like the admin."""

from rest_framework import permissions


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """Staff users with the model's view/add/change/delete permission, as the admin checks them.

    DRF's own class lets any authenticated user read; the admin requires the view (or change)
    permission, so reading does here too.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not request.user.is_staff:
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            # The admin lets a user with the change permission view as well.
            model = self._queryset(view).model
            meta = model._meta
            if request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
                return True
        return super().has_permission(request, view)


class ActionPermission(StaffModelPermissions):
    """For POST actions on an object (set-webhook, test-connection): the change permission."""

    perms_map = {**StaffModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}

"""Loads the demo data idempotently: users, then the demo objects of `contactcenter.demo`."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contactcenter import demo

DEMO_AGENTS = [("agent1", "Alice", "Archer"), ("agent2", "Bob", "Baker")]


class Command(BaseCommand):
    help = "Create the demo users and objects (safe to run again: nothing is duplicated)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo data even with DEBUG off (it creates users and simulator-linked accounts).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            # Demo users and accounts do not belong in a production database by accident.
            raise CommandError("DEBUG is off: this looks like a production database. Use --force to load the demo.")
        with transaction.atomic():
            self._ensure_user("admin", os.environ.get("ADMIN_PASSWORD"), superuser=True)
            demo_password = os.environ.get("DEMO_PASSWORD")
            for username, first, last in DEMO_AGENTS:
                self._ensure_user(username, demo_password, first_name=first, last_name=last)
            demo.load(self.stdout)

    def _ensure_user(self, username, password, *, superuser=False, **fields):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            generated = password is None
            password = password or secrets.token_urlsafe(12)
            create = User.objects.create_superuser if superuser else User.objects.create_user
            user = create(username=username, password=password, **fields)
            shown = password if generated else "(from the environment)"
            self.stdout.write(f"Created user {username!r} with password {shown}")
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"User {username!r} exists; password set from the environment")
        else:
            self.stdout.write(f"User {username!r} exists; password unchanged")
        return user

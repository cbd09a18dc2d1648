"""Retry the simulator's due webhook deliveries: once, or every --every seconds."""

import time

from django.core.management.base import BaseCommand

from simulator.delivery import deliver_due


class Command(BaseCommand):
    help = "Attempt the simulator's pending webhook deliveries that are due."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="keep running, one pass every N seconds")

    def handle(self, *args, every: float = 0, **options):
        while True:
            done = deliver_due(limit=500)
            self.stdout.write(f"{done} deliveries attempted")
            if not every:
                return
            time.sleep(every)

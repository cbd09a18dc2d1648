"""Bench settings: the product's, plus the baseline views (bench.urls). Bench processes only."""

from contactcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

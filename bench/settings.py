"""The stack benchmark's settings: the application's, plus the floor's URL (``bench.floor``)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

from django.apps import AppConfig


class WedgesConfig(AppConfig):
    name = "wedges"
    verbose_name = "Proposals and rollout wedges"

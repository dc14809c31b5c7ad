from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # The audit trail cannot import webhooks (dependencies point the other
        # way): it calls the listener for every event it records, and the
        # ones subscribers may ask for go to the outbox (webhooks.events).
        from audit.services import register_listener
        from webhooks.services import announce_recorded

        register_listener(announce_recorded)

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Metric providers"

    def ready(self) -> None:
        # Dependencies point one way (providers -> wedges -> org): providers
        # listens to the submission signal and plugs into the hooks that
        # wedges (provider names for validation) and org (/healthz) offer.
        from org.health import register_check
        from providers import receivers  # noqa: F401
        from providers.config import provider_names
        from providers.health import metric_providers_health
        from wedges import hooks

        hooks.register_provider_names(provider_names)
        register_check(metric_providers_health)

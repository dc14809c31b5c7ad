from django.apps import AppConfig


class WaiversConfig(AppConfig):
    name = "waivers"
    verbose_name = "Waivers"

    def ready(self) -> None:
        # Dependencies point one way (waivers -> wedges): waivers listens to
        # the signal and plugs into the hooks wedges offers; wedges never
        # imports waivers.
        from waivers import (
            receivers,  # noqa: F401
            selectors,
            services,
        )
        from wedges import hooks

        hooks.register_start_check(services.require_active_cover)
        hooks.register_cover_reader(selectors.waiver_cover, joins=selectors.COVER_JOINS)

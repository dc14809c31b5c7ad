from django.apps import AppConfig


class WaiversConfig(AppConfig):
    name = "waivers"
    verbose_name = "Waivers"

    def ready(self) -> None:
        # The signal lives in wedges so that dependencies point one way
        # (waivers -> wedges); waivers listens, wedges never imports waivers.
        from waivers import receivers  # noqa: F401

from django.apps import AppConfig


class FreezesConfig(AppConfig):
    name = "freezes"
    verbose_name = "Change freezes"

    def ready(self) -> None:
        # Dependencies point one way (freezes -> waivers -> wedges): freezes
        # plugs into the hooks wedges offers; wedges never imports freezes.
        from freezes import selectors
        from wedges import hooks

        # No wedge in a freeze's scope starts or advances unless a waiver covers it.
        hooks.register_start_check(selectors.start_check)
        hooks.register_advance_check(selectors.advance_check)

from django.apps import AppConfig


class GatesConfig(AppConfig):
    name = "gates"
    verbose_name = "Gates for Flagger and Argo Rollouts"

    def ready(self) -> None:
        # Dependencies point one way (gates -> wedges -> webhooks): gates plugs
        # into the hooks those apps offer and neither imports gates.
        from gates import selectors
        from webhooks import facts
        from wedges import hooks

        # The wedge advances only while every canary mapped to it reports healthy.
        hooks.register_advance_check(selectors.advance_check)
        # Announcements name the proposal's clusters.
        facts.register({"clusters"}, selectors.cluster_facts)

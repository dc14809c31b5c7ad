from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "org"
    verbose_name = "Organisation"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from org.middleware import mark_signed_in

        user_logged_in.connect(mark_signed_in, dispatch_uid="org.mark_signed_in")

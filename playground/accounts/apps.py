from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in, sign-up, who owns what (``access``) and how often one may start things
    (``limits``)."""

    name = "playground.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import access  # noqa: F401  (connects adopt_on_login)

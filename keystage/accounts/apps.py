from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "keystage.accounts"
    label = "accounts"

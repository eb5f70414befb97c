from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "keystage.transfer"
    label = "transfer"
    verbose_name = "School to school transfer"

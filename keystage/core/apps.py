from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "keystage.core"
    label = "core"

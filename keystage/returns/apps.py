from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "keystage.returns"
    label = "returns"

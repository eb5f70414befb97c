from django.apps import AppConfig


class PupilsConfig(AppConfig):
    name = "keystage.pupils"
    label = "pupils"
    verbose_name = "Pupils"

from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "keystage.schools"
    label = "schools"

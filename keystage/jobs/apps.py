from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "keystage.jobs"
    label = "jobs"

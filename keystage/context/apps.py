from django.apps import AppConfig


class ContextConfig(AppConfig):
    name = "keystage.context"
    label = "context"
    verbose_name = "Census, pupil premium and results"

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "keystage.analysis"
    label = "analysis"
    verbose_name = "Attainment reports"

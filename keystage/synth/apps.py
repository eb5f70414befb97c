from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "keystage.synth"
    label = "synth"

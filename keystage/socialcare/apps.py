from django.apps import AppConfig


class SocialCareConfig(AppConfig):
    name = "keystage.socialcare"
    label = "socialcare"
    verbose_name = "Children's social care returns"

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class CleaningConfig(AppConfig):
    name = "keystage.cleaning"
    label = "cleaning"

    def ready(self) -> None:
        # A broken rule-set file must stop the app at start-up, not surface mid-season.
        from keystage.cleaning.ruleset import RuleSetError, validate_default_rules

        try:
            validate_default_rules()
        except RuleSetError as error:
            raise ImproperlyConfigured(f"The cleaning rules cannot be used: {error}") from error

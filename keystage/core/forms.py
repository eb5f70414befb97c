"""GOV.UK styling for Django forms."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator

from keystage.core.inputs import INT_RANGE, INTEGER_RANGES

# A free-text field with no max_length of its own (a reason, a note) takes at most this many
# characters, so no request can store a page-sized blob.
TEXT_MAX_LENGTH = 2000

_WIDGET_CLASSES = (
    (forms.CheckboxInput, ""),
    (forms.ClearableFileInput, "govuk-file-upload"),
    (forms.FileInput, "govuk-file-upload"),
    (forms.Textarea, "govuk-textarea"),
    (forms.Select, "govuk-select"),
    (forms.DateInput, "govuk-input govuk-input--width-10"),
    (forms.NumberInput, "govuk-input govuk-input--width-5"),
    (forms.widgets.Input, "govuk-input"),
)


def _bound_field_limits(form, name: str, field) -> None:
    """Give a text field a length limit and an integer field the database column's range."""
    if isinstance(field, forms.CharField) and field.max_length is None:
        field.max_length = TEXT_MAX_LENGTH
        field.validators.append(MaxLengthValidator(TEXT_MAX_LENGTH))
        field.widget.attrs.setdefault("maxlength", str(TEXT_MAX_LENGTH))
    if isinstance(field, forms.IntegerField):
        low, high = INT_RANGE
        model = getattr(getattr(form, "_meta", None), "model", None)
        if model is not None:
            try:
                internal = model._meta.get_field(name).get_internal_type()
            except Exception:  # a form field with no model field behind it
                internal = ""
            low, high = INTEGER_RANGES.get(internal, INT_RANGE)
        if field.min_value is None or field.min_value < low:
            field.min_value = low
            field.validators.append(MinValueValidator(low))
        if field.max_value is None or field.max_value > high:
            field.max_value = high
            field.validators.append(MaxValueValidator(high))


class GovukFormMixin:
    """Gives each widget its GOV.UK class and links it to its hint and error messages; every
    text field gets a length limit and every integer field its column's range, so bad input is
    a form error on SQLite and PostgreSQL alike (Django's CharField already refuses NUL)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            _bound_field_limits(self, name, field)
            widget = field.widget
            for widget_type, css in _WIDGET_CLASSES:
                if isinstance(widget, widget_type):
                    if css:
                        widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()
                    break
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"
                widget.format = "%Y-%m-%d"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                widget.attrs["class"] = f"{css} govuk-input--error".strip()
                widget.attrs["aria-describedby"] = f"id_{name}-error"

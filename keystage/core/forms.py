"""GOV.UK styling for Django forms."""

from __future__ import annotations

from django import forms

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


class GovukFormMixin:
    """Gives each widget its GOV.UK class and links it to its hint and error messages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
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

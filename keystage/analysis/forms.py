from django import forms

from keystage import datasets
from keystage.core.forms import GovukFormMixin
from keystage.measures import primary


class ReportForm(GovukFormMixin, forms.Form):
    dataset = forms.ChoiceField(label="Dataset", choices=[
        (code, datasets.dataset(code).label) for code in primary.DATASETS])
    year = forms.IntegerField(label="Assessment year", min_value=2000, max_value=2099)
    by = forms.ChoiceField(label="Rows", required=False, choices=[
        ("", "The LA"), ("school", "Each school"), ("group", "Each pupil group")])
    national = forms.BooleanField(label="With the emerging national figures", required=False)
    cross = forms.ChoiceField(label="Each group crossed with (pupil groups only)",
                              required=False, choices=[("", "Nothing")] + [
                                  (g, g.replace("_", " ")) for g in primary.GROUPS])
    extra = forms.BooleanField(label="With your LA's extra pupil fields (pupil groups only)",
                               required=False)

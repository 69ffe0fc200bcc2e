from __future__ import annotations

from django import forms

from topology.dashboards.models import LAYOUTS, TILE_LABELS, TILES, Dashboard


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


class DashboardForm(forms.ModelForm):
    """A saved view: filters are typed as comma-separated lists, checked by the model."""

    hosts = forms.CharField(required=False, help_text="Host node ids, comma-separated")
    daemons = forms.CharField(required=False, help_text="Daemon node ids, comma-separated")
    roles = forms.MultipleChoiceField(
        required=False,
        choices=[("plain", "plain"), ("dind", "DinD"), ("dood", "DooD")],
        widget=forms.CheckboxSelectMultiple,
    )
    states = forms.CharField(required=False, help_text="e.g. running, exited")
    name_pattern = forms.CharField(required=False, max_length=200, label="Name contains")
    label_pattern = forms.CharField(required=False, max_length=200, label="Label (key=value)")
    tiles = forms.MultipleChoiceField(
        required=False,
        choices=[(tile, TILE_LABELS[tile]) for tile in TILES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Summary tiles over the graph and on the wall screen",
    )
    layout = forms.ChoiceField(choices=[(name, name) for name in LAYOUTS])

    class Meta:
        model = Dashboard
        fields = ["name", "team", "layout", "tiles"]

    def __init__(self, *args, teams=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
        filters = self.instance.filters or {}
        self.initial.setdefault("hosts", ", ".join(filters.get("hosts", [])))
        self.initial.setdefault("daemons", ", ".join(filters.get("daemons", [])))
        self.initial.setdefault("roles", filters.get("roles", []))
        self.initial.setdefault("states", ", ".join(filters.get("states", [])))
        self.initial.setdefault("name_pattern", filters.get("name", ""))
        self.initial.setdefault("label_pattern", filters.get("label", ""))

    def clean(self) -> dict:
        data = super().clean()
        filters = {
            "hosts": _words(data.get("hosts", "")),
            "daemons": _words(data.get("daemons", "")),
            "roles": list(data.get("roles", [])),
            "states": _words(data.get("states", "")),
            "name": data.get("name_pattern", ""),
            "label": data.get("label_pattern", ""),
        }
        self.instance.filters = {key: value for key, value in filters.items() if value}
        return data

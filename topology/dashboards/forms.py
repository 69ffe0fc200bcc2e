from __future__ import annotations

from django import forms

from topology.dashboards.models import LAYOUTS, TILE_LABELS, TILES, Dashboard


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


class DashboardForm(forms.ModelForm):
    """A saved view: filters are typed as comma-separated lists, checked by the model.

    The filters are the dashboard's scope: a node is shown when every filter set holds for it
    (a list holds when any of its values does), with the boxes that hold it.
    """

    hosts = forms.CharField(
        required=False,
        help_text="Host node ids (host:<name>), comma-separated: what runs on any of these hosts",
    )
    daemons = forms.CharField(
        required=False,
        help_text="Daemon node ids (daemon:<engine id>), comma-separated: any of these daemons"
        " and everything inside them, nested daemons included",
    )
    roles = forms.MultipleChoiceField(
        required=False,
        choices=[("plain", "plain"), ("dind", "DinD"), ("dood", "DooD")],
        widget=forms.CheckboxSelectMultiple,
        help_text="Containers of any of the roles ticked (none ticked: every role)",
    )
    states = forms.CharField(
        required=False,
        help_text="Containers in any of these states, comma-separated, e.g. running, exited",
    )
    exposure = forms.MultipleChoiceField(
        required=False,
        choices=[("public", "a port on all interfaces"), ("socket", "an engine socket mounted")],
        widget=forms.CheckboxSelectMultiple,
        help_text="Containers exposed in any of the ways ticked (none ticked: exposed or not)",
    )
    name_pattern = forms.CharField(
        required=False,
        max_length=200,
        label="Name",
        help_text="Part of a node's name, any case (web); or a glob for the whole name with"
        " * and ? (web-*)",
    )
    label_pattern = forms.CharField(
        required=False,
        max_length=200,
        label="Label",
        help_text="Containers with a label: key=value, a glob with * and ? (tier=front*), or a"
        " bare key for any value (com.example.team); case as typed",
    )
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
        self.initial.setdefault("exposure", filters.get("exposure", []))
        self.initial.setdefault("name_pattern", filters.get("name", ""))
        self.initial.setdefault("label_pattern", filters.get("label", ""))

    def clean(self) -> dict:
        data = super().clean()
        filters = {
            "hosts": _words(data.get("hosts", "")),
            "daemons": _words(data.get("daemons", "")),
            "roles": list(data.get("roles", [])),
            "states": _words(data.get("states", "")),
            "exposure": list(data.get("exposure", [])),
            "name": data.get("name_pattern", ""),
            "label": data.get("label_pattern", ""),
        }
        self.instance.filters = {key: value for key, value in filters.items() if value}
        return data

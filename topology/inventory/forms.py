"""Registering a root engine from the UI: certificates and keys arrive as uploaded files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from topology.inventory.models import Endpoint

MAX_KEY_FILE_BYTES = 64 * 1024
UPLOADS = {
    "tls_ca_cert": "CA certificate (PEM)",
    "tls_client_cert": "Client certificate (PEM)",
    "tls_client_key": "Client key (PEM)",
    "ssh_private_key": "ssh private key",
}


def _read_upload(upload: UploadedFile | None, label: str) -> str:
    if upload is None:
        return ""
    if upload.size > MAX_KEY_FILE_BYTES:
        raise forms.ValidationError(f"{label}: the file is over 64 KiB; is it the right one?")
    not_text = forms.ValidationError(f"{label}: the file is not a text (PEM or OpenSSH) file.")
    try:
        text = upload.read().decode("ascii")
    except UnicodeDecodeError as error:
        raise not_text from error
    if "\x00" in text:
        raise not_text
    return text


class EngineRegistrationForm(forms.ModelForm):
    """The engine's URL and credentials. Files are read into the model's fields and never shown
    again; the caller tests the connection before saving."""

    tls_ca_cert = forms.FileField(required=False, label=UPLOADS["tls_ca_cert"])
    tls_client_cert = forms.FileField(required=False, label=UPLOADS["tls_client_cert"])
    tls_client_key = forms.FileField(required=False, label=UPLOADS["tls_client_key"])
    ssh_private_key = forms.FileField(
        required=False,
        label=UPLOADS["ssh_private_key"],
        help_text="Ed25519, ECDSA or RSA, without a passphrase.",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "ssh_known_hosts", "insecure"]
        widgets = {"ssh_known_hosts": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, may_allow_insecure: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_allow_insecure:
            del self.fields["insecure"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, label in UPLOADS.items():
            try:
                text = _read_upload(cleaned.get(name), label)
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            setattr(self.instance, name, text)
        return cleaned

    def credentials(self) -> dict[str, Any]:
        """The fields ``services.register_endpoint`` takes, uploads read as text."""
        names = ["name", "url", "ssh_known_hosts", "insecure", *UPLOADS]
        return {name: getattr(self.instance, name) for name in names}

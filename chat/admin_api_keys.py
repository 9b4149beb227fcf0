"""Admin for API keys: the secret shown once, scopes, expiry, limits, revocation. Imported
by chat.admin, after admin_json.install()."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from chat import services
from chat.exceptions import ParleyError
from chat.integration_models import SCOPES, ApiKey, all_scopes
from chat.services.api_keys import clean_rate


class ApiKeyForm(forms.ModelForm):
    # A new key has every scope unless some are unticked, as over the API (docs/api.md).
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=all_scopes,
        help_text="What the key may do: read and write per resource.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "name",
            "site",
            "owner",
            "scopes",
            "expires_at",
            "rate_limit",
            "daily_requests",
            "daily_bytes",
            "is_active",
        ]

    def clean_expires_at(self):
        """In the future, as over the API (a 400 there): a key dead on arrival is a typo.
        An old key that has since expired may still be saved unchanged."""
        value = self.cleaned_data.get("expires_at")
        if value is not None and "expires_at" in self.changed_data and value <= timezone.now():
            raise forms.ValidationError("An expiry in the future (empty: never expires).")
        return value

    def clean_rate_limit(self):
        try:
            return clean_rate(self.cleaned_data.get("rate_limit") or "")
        except ParleyError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys for backend services: the secret is shown once, on creation; revoking is for
    good (the row stays for the record)."""

    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "site",
        "owner",
        "is_active",
        "expires_at",
        "revoked_at",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["is_active", "site"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = [*ApiKeyForm.Meta.fields, *readonly_fields]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if not change:
            raw, obj.prefix, obj.key_hash = services.api_key_secret_generate()
            messages.warning(request, f"Copy this API key now; it is not shown again: {raw}")
        elif "is_active" in form.changed_data and not obj.is_active and obj.revoked_at is None:
            obj.revoked_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys (for good)")
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

"""The forms of the one-time PIN's pages (the login pages' other forms are the provider's)."""

from __future__ import annotations

from django import forms

from apps.identity.pins import is_well_formed


class PinEmailForm(forms.Form):
    """The address to mail a code to, for one one-time PIN login method."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "placeholder": "you@example.com", "autofocus": True}
        ),
    )
    method = forms.IntegerField(widget=forms.HiddenInput)

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).lower()


class PinCodeForm(forms.Form):
    """The code from the mail (spaces are forgiven), for the challenge this browser holds."""

    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "class": "code",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "placeholder": "123456",
                "autofocus": True,
            }
        ),
    )
    challenge = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not is_well_formed(code):
            raise forms.ValidationError("Enter the 6-digit code from the email.")
        return code

    def forget_code(self) -> None:
        """Show the form again with the code field empty (its errors kept): a wrong code is
        typed anew, not edited."""
        self.data = {**dict(self.data.items()), "code": ""}  # QueryDict: last values

"""Commands report a service's ValidationError on one line, each message after its field."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.base.cli import bad_input, one_line


def test_every_message_is_on_one_line_after_its_field_in_the_commands_words() -> None:
    error = ValidationError({"pem": ["no certificate", "too large"], "name": ["taken"]})

    text = one_line(error, {"pem": "certificate"})

    assert text == "certificate: no certificate; certificate: too large; name: taken"


def test_an_error_tied_to_no_field_carries_no_label() -> None:
    error = ValidationError({"__all__": ["a policy with this name exists"], "order": ["< 0"]})

    assert one_line(error) == "a policy with this name exists; order: < 0"


def test_bad_input_is_one_line_and_exit_code_2() -> None:
    error = bad_input("certificate:\n  not   a CA")

    assert str(error) == "certificate: not a CA"
    assert error.returncode == 2

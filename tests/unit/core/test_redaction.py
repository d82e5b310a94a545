"""Redaction: the token after a scheme word, key-valued fields and ``sk-``/``ogk-`` strings are masked in logs and
audit bodies alike, whatever surrounds them, and redacting twice changes nothing."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocigate.core.logs import RedactingFormatter, redact
from ocigate.governance.audit import redact_body

EXAMPLES = [
    ("Authorization: Bearer abc", "Authorization: Bearer [redacted]"),
    ("authorization: basic dXNlcjpwYXNz", "authorization: basic [redacted]"),
    ("sent Bearer abc.def-ghi", "sent Bearer [redacted]"),
    ("x-api-key: abc123", "x-api-key: [redacted]"),
    ("api-key: abc123", "api-key: [redacted]"),
    ("GET /v1/models?api-key=abc123&limit=5", "GET /v1/models?api-key=[redacted]&limit=5"),
    ("api_key=abc123", "api_key=[redacted]"),
    ('{"api_key": "abc def", "max_tokens": 5}', '{"api_key": "[redacted]", "max_tokens": 5}'),
    ('{"x-api-key":"abc"}', '{"x-api-key":"[redacted]"}'),
    ('{"authorization": "Bearer abc"}', '{"authorization": "Bearer [redacted]"}'),
    ("{'Authorization': 'Bearer abc'}", "{'Authorization': 'Bearer [redacted]'}"),
    ("the key sk-abcdef123 was rejected", "the key sk-[redacted] was rejected"),
    ("used ogk-AbCdEfGhIjKlMnOp today", "used ogk-[redacted] today"),
    ("OCIGATE_MASTER_KEY=abc ORACLE_API_KEY=sk-x", "OCIGATE_MASTER_KEY=[redacted] ORACLE_API_KEY=[redacted]"),
    ('{"arguments": "{\\"api_key\\": \\"abc\\"}"}', '{"arguments": "{\\"api_key\\": \\"[redacted]\\"}"}'),
    ('{"password": "hunter2", "client_secret": "s3"}', '{"password": "[redacted]", "client_secret": "[redacted]"}'),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "[redacted]",
    ),
    # One form inside another: the token of the first is the name of the second.
    ("Bearer x-api-key: abc", "Bearer [redacted] [redacted]"),
    ("Authorization: Basic Bearer abc", "Authorization: Basic [redacted] [redacted]"),
    # A URL's user information: a proxy's credentials.
    ("via http://alice:s3cr%40t@proxy.corp:3128 failed", "via http://[redacted]@proxy.corp:3128 failed"),
    ("HTTPS_PROXY=http://tok3n@proxy:8080", "HTTPS_PROXY=http://[redacted]@proxy:8080"),
    ("see https://example.com/users/@me", "see https://example.com/users/@me"),
]

UNCHANGED = [
    "send it as 'Authorization: Bearer <key>' or 'x-api-key'.",
    '{"max_tokens": 100, "prompt_tokens": 5, "token_field": "max_tokens"}',
    "the task-runner uses disk-usage and asks about tokens",
    "the key ogk-AbCdEfGh… ('ci') is revoked",  # a key's display form, which logs are meant to show
    "provider 'oracle': model discovery found 12 models in 0.3 s",
]


@pytest.mark.parametrize(("before", "after"), EXAMPLES)
def test_the_value_is_masked_and_the_words_that_name_it_are_kept(before: str, after: str) -> None:
    assert redact(before) == after
    assert redact(after) == after


@pytest.mark.parametrize("text", UNCHANGED)
def test_text_without_a_secret_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_log_lines_and_audit_bodies_share_the_redactor() -> None:
    record = logging.LogRecord("ocigate", logging.INFO, __file__, 1, "upstream said %s", ("Bearer abc",), None)
    assert RedactingFormatter("%(message)s").format(record) == "upstream said Bearer [redacted]"
    assert redact_body(b'{"headers": {"Authorization": "Bearer abc"}}') == (
        '{"headers": {"Authorization": "Bearer [redacted]"}}'
    )


# Secrets as tools make them: URL-safe characters and the few others that base64 and JWTs use.
SECRETS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=", min_size=8, max_size=64
)
FORMS = [
    "Authorization: Bearer {}",
    "authorization: basic {}",
    "Bearer {}",
    "x-api-key: {}",
    "X-Api-Key:{}",
    "api-key: {}",
    '"api_key": "{}"',
    '"x-api-key":"{}"',
    "'api_key': '{}'",
    '{{"authorization": "Bearer {}"}}',
    "?api-key={}&",
    "api_key={}",
    "sk-{}",
    "ogk-{}",
    '\\"api_key\\": \\"{}\\"',
]
# Surrounding text of any kind, separated from the form as text is (a space, a line break, a tab, a comma).
TEXT = st.text(max_size=80)
SEPARATORS = st.sampled_from([" ", "\n", "\t", ", ", " (", "; "])


@settings(max_examples=400, deadline=None)
@given(
    secret=SECRETS,
    form=st.sampled_from(FORMS),
    before=TEXT,
    after=TEXT,
    left=SEPARATORS,
    right=SEPARATORS,
)
def test_no_embedded_secret_survives_and_redacting_twice_changes_nothing(
    secret: str, form: str, before: str, after: str, left: str, right: str
) -> None:
    text = before + left + form.format(secret) + right + after
    once = redact(text)
    # A separator holds a character no secret has, so the secret can only be found again in the form's place,
    # unless the surrounding text happens to hold it too.
    elsewhere = secret in before or secret in after
    assert secret not in once or elsewhere
    assert secret not in redact_body(text) or elsewhere
    assert redact(once) == once


# Text made of the forms' own pieces, run together in any order: where one form's match could end inside another's.
PIECES = st.lists(
    st.sampled_from(
        [
            "Bearer ",
            "basic ",
            "Authorization",
            "api_key",
            "x-api-key",
            "token",
            ":",
            "=",
            " ",
            "\t",
            "\n",
            '"',
            "'",
            "\\",
            '\\"',
            "sk-",
            "ogk-",
            "[redacted]",
            "abc",
            "ogk-AbCdEfGh\u2026",
            ",",
            "&",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----",
        ]
    )
    | st.text(max_size=3),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(PIECES)
def test_redacting_any_text_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once) == once

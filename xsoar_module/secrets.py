"""Keep secret values out of everything a user sees: logs, errors, results.

One masker serves them all. It replaces each secret as is, as Python or JSON quote it (escaped characters),
URL-encoded, and base64-encoded at any position of a larger base64 text (so `Basic base64(user:password)` and
`base64("Bearer <token>")` are masked too), and the user information of any URL (`https://user:pw@host`).
"""

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
from pydantic import BaseModel

MASK = "***"
MIN_SECRET_LENGTH = 4
MIN_BASE64_CORE = 6  # shorter base64 fragments would mask ordinary text
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"<>]+@")


def secret_fields(model: type[BaseModel]) -> list[str]:
    """Names of the fields declared secret (`json_schema_extra={"secret": True}`)."""
    return [
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret")
    ]


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 characters that depend on the secret's bytes only, for each of its 3 alignments in a text."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(secret)) // 6]
        if len(core) >= MIN_BASE64_CORE:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def encoded_forms(secret: str) -> set[str]:
    """Every form in which `secret` may appear in a message, a URL or a header."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
    }
    try:
        raw = secret.encode("latin-1")  # what requests sends in Basic authentication
    except UnicodeEncodeError:
        raw = secret.encode()
    return forms | _base64_cores(raw) | _base64_cores(secret.encode())


def mask_url_userinfo(text: str) -> str:
    """`https://user:pw@host/...` -> `https://***@host/...`."""
    return URL_USERINFO.sub(rf"\1{MASK}@", text)


@dataclass(frozen=True)
class SecretMasker:
    """Masks given secret values in texts and in JSON-like values (results); URLs' user information too, unless the
    masker is one for data (`for_data`)."""

    values: tuple[str, ...] = ()
    userinfo: bool = True

    @classmethod
    def of(cls, configuration: BaseModel | None, extra: Iterable[Any] = ()) -> "SecretMasker":
        """The masker of a configuration's secrets (and of values delivered but not applied, `extra`)."""
        values = list(extra)
        if configuration is not None:
            values += [getattr(configuration, name, None) for name in secret_fields(type(configuration))]
            username = getattr(configuration, "xsoar_username", None)
            password = getattr(configuration, "xsoar_password", None)
            if username and password:  # Basic authentication sends base64 of the pair, covered by its base64 forms
                values.append(f"{username}:{password}")
        return cls.of_values(values)

    @classmethod
    def of_values(cls, values: Iterable[Any]) -> "SecretMasker":
        secrets = {text for value in values if isinstance(value, str) for text in (value, value.strip())}
        forms = {form for secret in secrets if len(secret) >= MIN_SECRET_LENGTH for form in encoded_forms(secret)}
        # the longest first, so that a form containing another is masked whole
        return cls(tuple(sorted(forms, key=len, reverse=True)))

    def for_data(self) -> "SecretMasker":
        """The masker of what crosses to the other side (request bodies, trigger events, alert files): the module's
        secrets only. A URL's user information there is evidence (`http://paypal.com@evil.example`), kept as it is."""
        return replace(self, userinfo=False)

    def mask(self, text: str) -> str:
        """The text with every secret form (and every URL's user information, but for data) replaced by `***`."""
        for form in self.values:
            if form in text:
                text = text.replace(form, MASK)
        return mask_url_userinfo(text) if self.userinfo else text

    def mask_value(self, value: Any) -> Any:
        """A copy of a JSON-like value (results) with every string, keys included, masked."""
        try:  # one scan of the whole value: most values hold no secret
            text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            return self._mask_each(value)
        if not any(form in text for form in self.values) and not (self.userinfo and URL_USERINFO.search(text)):
            return value
        return self._mask_each(value)

    def _mask_each(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self._mask_each(key): self._mask_each(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._mask_each(item) for item in value]
        return value

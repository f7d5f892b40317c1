"""The module configuration: one typed model, the manifest's `configuration` is generated from it."""

from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from xsoar_module.errors import ConfigurationError
from xsoar_module.models.schema import ManifestModel, drop_null_variants
from xsoar_module.quoting import check_identifier

DEFAULT_BASE_URL = "https://api.sekoia.io"


def _check_url(
    value: str | None, field: str, schemes: tuple[str, ...] = ("http", "https"), *, keep_path: bool = False
) -> str | None:
    """Return the URL without its trailing slash (with its path as given when `keep_path`), or raise naming the
    field."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"{field} must be an absolute {' or '.join(schemes)} URL, got a value without one")
    if "@" in parts.netloc:  # requests would send it as Basic credentials, in place of the configured ones
        raise ValueError(
            f"{field} must not carry a user name or password (user:password@host): remove them from the URL and "
            "use the credential settings (api_key, xsoar_token, xsoar_username/xsoar_password, xsoar_api_key)"
        )
    return value if keep_path else value.rstrip("/")


def sekoia_api_url(base_url: str) -> str:
    """Normalise a Sekoia API base so that `{result}/v1/...` is a valid path, for every region.

    `https://api.sekoia.io` stays as is; `https://app.fra2.sekoia.io` and `.../api/` become `.../api`.
    """
    parts = urlsplit(base_url.rstrip("/"))
    path = parts.path
    while path.endswith("/api/api"):
        path = path[: -len("/api")]
    if parts.netloc.startswith("app.") and not path.endswith("/api"):
        path += "/api"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def sekoia_app_url(base_url: str) -> str:
    """Derive the web application base (used in alert links) from the API base."""
    parts = urlsplit(base_url.rstrip("/"))
    host = parts.netloc
    if host.startswith("api."):
        host = "app." + host[len("api.") :]
    path = parts.path
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return urlunsplit((parts.scheme, host, path, "", ""))


def liveapi_url_for(app_url: str) -> str:
    """LiveAPI lives on the web application's host: `wss://<app host>/live/`."""
    parts = urlsplit(app_url)
    scheme = "ws" if parts.scheme == "http" else "wss"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/live/", "", ""))


CREDENTIALS = ("api_key", "xsoar_token", "xsoar_password", "xsoar_api_key", "xsoar_api_key_id", "xsoar_username")
API_BASE_PATHS = ("", "/api")


def check_credential(value: str | None, field: str) -> str | None:
    """A credential as HTTP headers can carry it: trimmed, one line, latin-1; the error names it, never its value.

    Pasted credentials often carry a line break at the end: it is stripped; one inside would break (or inject)
    a header, and a character outside latin-1 cannot be sent in a header at all.
    """
    if value is None:
        return None
    value = value.strip()
    if any(ord(character) < 32 or 127 <= ord(character) < 160 for character in value):
        raise ValueError(f"{field} contains a line break or a control character: paste it again")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            f"{field} contains a character that cannot be sent in an HTTP header (not latin-1): paste it again"
        ) from None
    return value or None


def check_api_base(value: str) -> str:
    """`base_url` is a host, with at most the /api prefix: another path, a query or a fragment is a mistake."""
    parts = urlsplit(value)
    path = parts.path.rstrip("/")
    while path.endswith("/api/api"):
        path = path[: -len("/api")]
    if path not in API_BASE_PATHS or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(
            "base_url must be the Sekoia.io API base of your region, with no other path than /api and no query "
            "(e.g. https://api.sekoia.io or https://app.fra2.sekoia.io/api)"
        )
    return value


class ModuleConfiguration(ManifestModel):
    """Sekoia.io and Cortex XSOAR connection settings."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, json_schema_extra=drop_null_variants)

    base_url: str = Field(
        DEFAULT_BASE_URL,
        description="Sekoia.io API base URL of your region (e.g. https://api.sekoia.io, "
        "https://app.fra2.sekoia.io/api); with or without /api",
    )
    api_key: str | None = Field(
        None,
        description="Sekoia.io API key (required) with the SYMPHONY_* and alert/event read permissions",
        json_schema_extra={"secret": True},
    )
    app_url: str | None = Field(
        None,
        description="Sekoia.io web application base used in alert links; derived from base_url when empty",
    )
    liveapi_url: str | None = Field(
        None, description="LiveAPI WebSocket URL override; derived from the web application host when empty"
    )
    xsoar_url: str = Field(
        description="Cortex XSOAR Generic Webhook URL (webhook mode, e.g. https://xsoar.example.com/instance/"
        "execute/sekoia) or XSOAR API base (api mode, e.g. https://xsoar.example.com or https://api-<fqdn>/xsoar)",
    )
    xsoar_mode: Literal["webhook", "api"] = Field(
        "webhook", description="How incidents are created: through the Generic Webhook or the XSOAR REST API"
    )
    xsoar_token: str | None = Field(
        None,
        description="Webhook header authentication: sent as 'Authorization: Bearer <token>' "
        "(the instance's username '_header:Authorization', password 'Bearer <token>')",
        json_schema_extra={"secret": True},
    )
    xsoar_username: str | None = Field(None, description="Webhook Basic authentication username (XSOAR 8.5+)")
    xsoar_password: str | None = Field(
        None, description="Webhook Basic authentication password (XSOAR 8.5+)", json_schema_extra={"secret": True}
    )
    xsoar_api_key: str | None = Field(
        None, description="XSOAR REST API key (api mode)", json_schema_extra={"secret": True}
    )
    xsoar_api_key_id: str | None = Field(
        None, description="XSOAR 8 / XSIAM API key ID, sent as x-xdr-auth-id (api mode; empty for XSOAR 6)"
    )
    xsoar_command_investigation_id: str | None = Field(
        None,
        description="Sync: the ID of an XSOAR investigation that stays open (e.g. your Playground's), where Update "
        "Incident runs !reopenInvestigation id=<incident> (a closed incident's war room refuses commands)",
    )
    verify_certificate: bool = Field(True, description="Verify the TLS certificate of XSOAR")
    ca_certificate: str | None = Field(
        None, description="PEM of an extra certificate authority to trust for XSOAR (private CA)"
    )

    @field_validator("base_url", "xsoar_url", "app_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _check_url(value, info.field_name or "url")  # a field validator always has its field name

    @field_validator("base_url")
    @classmethod
    def _api_base(cls, value: str) -> str:
        return check_api_base(value)

    @field_validator("liveapi_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        # as given: the LiveAPI answers at /live/, not at /live
        return _check_url(value, "liveapi_url", ("ws", "wss", "http", "https"), keep_path=True)

    @field_validator(*CREDENTIALS)
    @classmethod
    def _credential(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_credential(value, info.field_name or "credential")

    @field_validator("xsoar_command_investigation_id")
    @classmethod
    def _investigation_id(cls, value: str | None) -> str | None:
        return check_identifier(value.strip(), "xsoar_command_investigation_id") or None if value else None

    @field_validator("ca_certificate")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value and "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("ca_certificate must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)")
        return value or None

    @property
    def sekoia_api_url(self) -> str:
        return sekoia_api_url(self.base_url)

    @property
    def sekoia_app_url(self) -> str:
        return self.app_url or sekoia_app_url(self.base_url)

    @property
    def sekoia_liveapi_url(self) -> str:
        return self.liveapi_url or liveapi_url_for(self.sekoia_app_url)

    def require_api_key(self) -> str:
        """The Sekoia.io API key, once the platform delivered the secrets."""
        if not self.api_key:
            raise ConfigurationError("api_key is empty: set the Sekoia.io API key in the module configuration")
        return self.api_key

    def check_xsoar_credentials(self) -> None:
        """Fail early, naming the setting to fix, when the XSOAR mode lacks what it needs."""
        if self.xsoar_mode == "api" and not self.xsoar_api_key:
            raise ConfigurationError("xsoar_mode is 'api' but xsoar_api_key is empty: set the XSOAR API key")
        if self.xsoar_mode == "webhook" and self.xsoar_token and (self.xsoar_username or self.xsoar_password):
            raise ConfigurationError(
                "set either xsoar_token (header authentication) or xsoar_username/xsoar_password (Basic), not both"
            )
        if bool(self.xsoar_username) != bool(self.xsoar_password) and self.xsoar_mode == "webhook":
            raise ConfigurationError("xsoar_username and xsoar_password go together: set both or neither")

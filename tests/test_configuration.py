"""Module configuration: URL derivation for every region, early and specific errors, secrets kept out of errors."""

import pytest
from pydantic import ValidationError

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ConfigurationError, describe_validation_error

XSOAR = "https://xsoar.example.com/instance/execute/sekoia"


@pytest.mark.parametrize(
    ("base_url", "api_url", "app_url", "liveapi_url"),
    [
        ("https://api.sekoia.io", "https://api.sekoia.io", "https://app.sekoia.io", "wss://app.sekoia.io/live/"),
        ("https://api.sekoia.io/", "https://api.sekoia.io", "https://app.sekoia.io", "wss://app.sekoia.io/live/"),
        (
            "https://api.sekoia.io/api",
            "https://api.sekoia.io/api",
            "https://app.sekoia.io",
            "wss://app.sekoia.io/live/",
        ),
        (
            "https://app.fra2.sekoia.io/api",
            "https://app.fra2.sekoia.io/api",
            "https://app.fra2.sekoia.io",
            "wss://app.fra2.sekoia.io/live/",
        ),
        (
            "https://app.fra2.sekoia.io",
            "https://app.fra2.sekoia.io/api",
            "https://app.fra2.sekoia.io",
            "wss://app.fra2.sekoia.io/live/",
        ),
        (
            "https://app.mco1.sekoia.io/api/",
            "https://app.mco1.sekoia.io/api",
            "https://app.mco1.sekoia.io",
            "wss://app.mco1.sekoia.io/live/",
        ),
        (
            "https://app.uae1.sekoia.io/api",
            "https://app.uae1.sekoia.io/api",
            "https://app.uae1.sekoia.io",
            "wss://app.uae1.sekoia.io/live/",
        ),
        (
            "https://api.usa1.sekoia.io",
            "https://api.usa1.sekoia.io",
            "https://app.usa1.sekoia.io",
            "wss://app.usa1.sekoia.io/live/",
        ),
        (
            "https://app.usa1.sekoia.io/api",
            "https://app.usa1.sekoia.io/api",
            "https://app.usa1.sekoia.io",
            "wss://app.usa1.sekoia.io/live/",
        ),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081", "http://127.0.0.1:8081", "ws://127.0.0.1:8081/live/"),
    ],
)
def test_urls_are_derived_for_every_region(base_url, api_url, app_url, liveapi_url):
    config = ModuleConfiguration(base_url=base_url, xsoar_url=XSOAR)
    assert (config.sekoia_api_url, config.sekoia_app_url, config.sekoia_liveapi_url) == (api_url, app_url, liveapi_url)


def test_overrides_win_over_derivation():
    config = ModuleConfiguration(
        base_url="https://sekoia.internal/api",
        app_url="https://soc.example.com/",
        liveapi_url="wss://live.example/ws",
        xsoar_url=XSOAR,
    )
    assert config.sekoia_app_url == "https://soc.example.com"
    assert config.sekoia_liveapi_url == "wss://live.example/ws"


@pytest.mark.parametrize("liveapi_url", ["wss://live.example/live/", "wss://live.example/live", "ws://127.0.0.1:8/"])
def test_an_explicit_liveapi_url_keeps_its_path_as_given(liveapi_url):
    config = ModuleConfiguration(liveapi_url=f" {liveapi_url}\n", xsoar_url=XSOAR)
    assert config.sekoia_liveapi_url == liveapi_url


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"xsoar_url": "ftp://xsoar.example.com"}, "xsoar_url"),
        ({"xsoar_url": "xsoar.example.com/instance/execute/sekoia"}, "xsoar_url"),
        ({"xsoar_url": XSOAR, "base_url": "api.sekoia.io"}, "base_url"),
        ({"xsoar_url": XSOAR, "app_url": "app"}, "app_url"),
        ({"xsoar_url": XSOAR, "liveapi_url": "ftp://x"}, "liveapi_url"),
        ({"xsoar_url": XSOAR, "xsoar_mode": "email"}, "xsoar_mode"),
        ({"xsoar_url": XSOAR, "ca_certificate": "not a pem"}, "ca_certificate"),
        ({}, "xsoar_url"),
    ],
)
def test_invalid_settings_fail_naming_the_field(settings, field):
    with pytest.raises(ValidationError) as caught:
        ModuleConfiguration(**settings)
    message = describe_validation_error(caught.value, "module configuration")
    assert message.startswith("Invalid module configuration: ")
    assert field in message


def test_validation_errors_never_show_the_values():
    with pytest.raises(ValidationError) as caught:
        ModuleConfiguration(xsoar_url="ftp://canary-value-9f8e", api_key=["canary-secret-1a2b"])
    message = describe_validation_error(caught.value, "module configuration") + str(caught.value)
    assert "canary-value-9f8e" not in message and "canary-secret-1a2b" not in message


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"xsoar_mode": "api"}, "xsoar_api_key"),
        ({"xsoar_token": "t", "xsoar_username": "u", "xsoar_password": "p"}, "either xsoar_token"),
        ({"xsoar_username": "u"}, "xsoar_username and xsoar_password"),
    ],
)
def test_incoherent_xsoar_settings_are_refused_early(settings, expected):
    config = ModuleConfiguration(xsoar_url=XSOAR, **settings)
    with pytest.raises(ConfigurationError, match=expected):
        config.check_xsoar_credentials()


def test_a_missing_api_key_names_the_setting():
    with pytest.raises(ConfigurationError, match="api_key"):
        ModuleConfiguration(xsoar_url=XSOAR).require_api_key()


def test_pasted_secrets_are_trimmed_and_inner_line_breaks_refused():
    assert ModuleConfiguration(xsoar_url=XSOAR, api_key="  key-canary-77\n").api_key == "key-canary-77"
    with pytest.raises(ValidationError) as caught:
        ModuleConfiguration(xsoar_url=XSOAR, xsoar_token="tok\ncanary-88")
    message = describe_validation_error(caught.value, "module configuration")
    assert "xsoar_token contains a line break" in message and "canary-88" not in message + str(caught.value)


def test_secrets_are_masked_also_when_quoted_with_escapes():
    from xsoar_module.secrets import SecretMasker

    masker = SecretMasker.of_values(["a\tsecret-canary"])
    assert masker.mask("header value 'a\\tsecret-canary' and a\tsecret-canary") == "header value '***' and ***"

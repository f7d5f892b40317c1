"""Hostile module configurations and secrets, delivered as the platform does (secrets through their channel)."""

import pytest

from tests.hostile.conftest import check_action_case
from tests.hostile.harness import Case, params
from tests.support import SEKOIA_KEY, XSOAR_API_KEY, XSOAR_PASSWORD, XSOAR_TOKEN

ALERT = "ALz7Qm3KpW2x"
GET = {"action": "GetAlert", "arguments": {"uuid": ALERT}}
CREATE = {"action": "CreateIncident", "arguments": {"alert_uuid": ALERT}}
TOKEN_NON_LATIN1 = "xsoar-token-canary-€77"
KEY_NON_LATIN1 = "sekoia-key-canary-✓5b1f"
SPECIAL_TOKEN = "tok+en/canary=77&x"


def secrets(**overrides) -> dict:
    """What the platform's secrets channel serves: the suite's secrets, some replaced."""
    return {"api_key": SEKOIA_KEY, "xsoar_token": XSOAR_TOKEN} | overrides


def with_userinfo(url: str) -> str:
    return url.replace("://", f"://sekoia:{XSOAR_PASSWORD}@", 1)


def xsoar_received_nothing(outcome) -> None:
    assert outcome.extra["xsoar"].incidents == [], "an incident was created despite the error"


CASES = [
    # Sekoia.io side
    Case("base_url-not-a-url", GET | {"config": {"base_url": "not a url"}}, error=r"base_url"),
    Case("base_url-ftp", GET | {"config": {"base_url": "ftp://api.sekoia.io"}}, error=r"base_url"),
    Case(
        "base_url-with-a-path",
        GET | {"config": {"base_url": lambda env: env.sekoia.url + "/some/where"}},
        error=r"base_url",
    ),
    Case(
        "base_url-with-a-query",
        GET | {"config": {"base_url": lambda env: env.sekoia.url + "/?region=fra1"}},
        error=r"base_url",
    ),
    Case("base_url-api-suffix-slash", GET | {"config": {"base_url": lambda env: env.sekoia.url + "/api/"}}),
    Case("app_url-javascript", GET | {"config": {"app_url": "javascript:alert(1)"}}, error=r"app_url"),
    Case("liveapi_url-ftp", GET | {"config": {"liveapi_url": "ftp://live.sekoia.io/live/"}}, error=r"liveapi_url"),
    # XSOAR side
    Case("xsoar_url-missing", CREATE | {"config": {"xsoar_url": None}}, error=r"xsoar_url"),
    Case("xsoar_url-not-a-url", CREATE | {"config": {"xsoar_url": "xsoar.example.com"}}, error=r"xsoar_url"),
    Case("xsoar_mode-upper-case", CREATE | {"config": {"xsoar_mode": "API"}}, error=r"xsoar_mode"),
    Case("verify_certificate-garbage", CREATE | {"config": {"verify_certificate": "maybe"}}, error=r"verify_certif"),
    Case("ca_certificate-not-pem", CREATE | {"config": {"ca_certificate": "hello"}}, error=r"ca_certificate"),
    Case(
        "ca_certificate-corrupt-pem",
        CREATE
        | {
            "config": {
                "xsoar_url": lambda env: env.tls_xsoar.webhook_url,
                "ca_certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            }
        },
        error=r"ca_certificate",
    ),
    Case(
        "ca_certificate-right-ca",
        CREATE
        | {
            "config": {
                "xsoar_url": lambda env: env.tls_xsoar.webhook_url,
                "ca_certificate": lambda env: env.tls_xsoar.ca_pem,
            }
        },
    ),
    Case(
        "xsoar_url-http-to-an-https-server",
        CREATE | {"config": {"xsoar_url": lambda env: env.tls_xsoar.webhook_url.replace("https://", "http://")}},
        error=r"https://",
    ),
    Case(
        "xsoar_url-userinfo-password-refused",
        CREATE | {"config": {"xsoar_url": lambda env: with_userinfo(env.xsoar.webhook_url)}},
        error=r"xsoar_url must not carry a user name or password",
        check=xsoar_received_nothing,
    ),
    Case(
        "xsoar_url-userinfo-password-unreachable",
        CREATE | {"config": {"xsoar_url": with_userinfo("http://127.0.0.1:9/instance/execute/sekoia")}},
        error=r"XSOAR",
    ),
    Case("api-mode-without-key", CREATE | {"mode": "api6", "config": {"xsoar_api_key": None}}, error=r"xsoar_api_key"),
    Case(
        "token-and-basic-together",
        CREATE | {"config": {"xsoar_username": "sekoia", "xsoar_password": XSOAR_PASSWORD}},
        error=r"xsoar_token.*xsoar_username",
    ),
    Case(
        "username-without-password",
        CREATE | {"config": {"xsoar_token": None, "xsoar_username": "sekoia"}},
        error=r"xsoar_password",
    ),
    # XSOAR 8 URL forms
    Case("xsoar8-url-bare", CREATE | {"mode": "api8", "config": {"xsoar_url": lambda env: env.xsoar.url}}),
    Case(
        "xsoar8-url-xsoar-slash",
        CREATE | {"mode": "api8", "config": {"xsoar_url": lambda env: env.xsoar.url + "/xsoar/"}},
    ),
    Case(
        "xsoar8-url-public-v1",
        CREATE | {"mode": "api8", "config": {"xsoar_url": lambda env: env.xsoar.url + "/xsoar/public/v1"}},
    ),
    Case(
        "xsoar8-url-public-v1-slash",
        CREATE | {"mode": "api8", "config": {"xsoar_url": lambda env: env.xsoar.url + "/xsoar/public/v1/"}},
    ),
    Case(
        "api-mode-given-the-webhook-url",
        CREATE | {"mode": "api6", "config": {"xsoar_url": lambda env: env.xsoar.webhook_url}},
        error=r"xsoar_url",
    ),
    # secrets through the platform's channel
    Case(
        "secret-api_key-trailing-newline",
        GET | {"secrets": secrets(api_key=SEKOIA_KEY + "\n")},
    ),
    Case(
        "secret-xsoar_token-trailing-crlf",
        CREATE | {"secrets": secrets(xsoar_token=XSOAR_TOKEN + "\r\n")},
    ),
    Case(
        "secret-api_key-trailing-newline-process",
        GET | {"secrets": secrets(api_key=SEKOIA_KEY + "\n"), "process": True},
    ),
    Case(
        "secret-api_key-line-break-inside",
        GET | {"secrets": secrets(api_key="sekoia-key\ncanary-5b1f0e")},
        error=r"api_key",
        canaries=("sekoia-key\ncanary-5b1f0e",),
    ),
    Case(
        "secret-xsoar_token-crlf-inside",
        CREATE | {"secrets": secrets(xsoar_token="xsoar-token\r\nX-Evil: canary-77aa12")},
        error=r"xsoar_token",
        check=xsoar_received_nothing,
        canaries=("xsoar-token\r\nX-Evil: canary-77aa12",),
    ),
    Case(
        "secret-xsoar_api_key-crlf-inside",
        CREATE | {"mode": "api6", "secrets": {"api_key": SEKOIA_KEY, "xsoar_api_key": "xsoar-apikey\r\ncanary-c3d4"}},
        error=r"xsoar_api_key",
        canaries=("xsoar-apikey\r\ncanary-c3d4",),
    ),
    Case(
        "secret-xsoar_token-non-latin-1",
        CREATE | {"secrets": secrets(xsoar_token=TOKEN_NON_LATIN1)},
        error=r"xsoar_token",
        check=xsoar_received_nothing,
        canaries=(TOKEN_NON_LATIN1,),
    ),
    Case(
        "secret-api_key-non-latin-1",
        GET | {"secrets": secrets(api_key=KEY_NON_LATIN1)},
        error=r"api_key",
        canaries=(KEY_NON_LATIN1,),
    ),
    Case(
        "secret-xsoar_password-non-latin-1",
        CREATE
        | {
            "config": {"xsoar_token": None, "xsoar_username": "sekoia", "xsoar_password": "x"},
            "secrets": {"api_key": SEKOIA_KEY, "xsoar_password": "pässwörd-canary-€9c8b"},
        },
        error=r"xsoar_password",
        canaries=("pässwörd-canary-€9c8b",),
    ),
    Case(
        "secret-channel-serves-nothing",
        GET | {"secrets": {}},
        error=r"api_key",
    ),
    Case(
        "secret-special-characters-token-refused",
        CREATE | {"secrets": secrets(xsoar_token=SPECIAL_TOKEN)},
        error=r"xsoar_token",
        canaries=(SPECIAL_TOKEN,),
    ),
    Case(
        "secret-api-key-equals-the-token",
        CREATE | {"mode": "api6", "secrets": {"api_key": SEKOIA_KEY, "xsoar_api_key": XSOAR_API_KEY + " "}},
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_configuration(case, env, capfd):
    check_action_case(case, env, capfd)

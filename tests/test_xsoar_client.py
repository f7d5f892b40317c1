"""The XSOAR client alone: the API base of every URL form users paste, the search, the settle period."""

import warnings

import pytest

from lab.faults import Fault
from tests.support import XSOAR_API_KEY
from xsoar_module.clients.http import RetryPolicy
from xsoar_module.clients.xsoar import XsoarClient, api_base
from xsoar_module.configuration import ModuleConfiguration

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # demisto-py imports pkg_resources
    import demisto_client

TENANT = "acme.xdr.eu.paloaltonetworks.com"
API = f"https://api-{TENANT}/xsoar"


@pytest.mark.parametrize(
    ("pasted", "base"),
    [
        (f"https://api-{TENANT}", API),
        (f"https://api-{TENANT}/", API),
        (f"https://api-{TENANT}/xsoar", API),
        (f"https://api-{TENANT}/xsoar/public/v1", f"{API}/public/v1"),
        (f"https://{TENANT}", API),
        (f"https://{TENANT}/xsoar/", API),
        (f"https://ext-{TENANT}/xsoar", API),
        (f"https://api-{TENANT}:443", f"https://api-{TENANT}:443/xsoar"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/xsoar"),
        ("https://10.1.2.3", "https://10.1.2.3/xsoar"),
        ("https://xsoar:8443", "https://xsoar:8443/xsoar"),
    ],
)
def test_xsoar_8_url_forms_reach_the_api_base(pasted, base):
    assert api_base(pasted, "12") == base


def test_xsoar_6_urls_stay_as_pasted():
    assert api_base("https://xsoar.example.com/", None) == "https://xsoar.example.com"


@pytest.mark.parametrize("pasted", [f"https://{TENANT}", f"https://api-{TENANT}"])
def test_the_tenant_url_is_rewritten_as_palo_altos_client_does(pasted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = demisto_client.configure(base_url=pasted, api_key="k", auth_id="12")
    assert api_base(pasted, "12") == client.api_client.configuration.host


def api_client(xsoar, monkeypatch, waits=(0.0, 0.1, 0.2)) -> tuple[XsoarClient, list[float]]:
    monkeypatch.setattr("xsoar_module.clients.xsoar.XSOAR_POLICY", RetryPolicy(attempts=3, initial_wait=0.01))
    config = ModuleConfiguration(xsoar_url=xsoar.url, xsoar_mode="api", xsoar_api_key=XSOAR_API_KEY)
    slept: list[float] = []
    return XsoarClient(config, settle_waits=waits, sleep=slept.append), slept


BODY = {"name": "n", "CustomFields": {"alertid": "AL-1"}, "dbotMirrorId": "AL-1"}


def test_one_search_then_one_create_then_one_search(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    created = client.create_once(BODY)
    again = client.create_once(BODY)
    assert (created.requests, created.deduplicated) == (2, False)
    assert (again.requests, again.deduplicated, again.incident_id) == (1, True, created.incident_id)


def test_the_search_quotes_the_identity(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    odd = {"name": "n", "CustomFields": {"alertid": 'A"B\\'}}
    assert not client.create_once(odd).deduplicated and client.create_once(odd).deduplicated
    assert client.find_incident("A") is None


def test_an_unanswered_create_is_searched_over_the_settle_period_before_being_sent_again(xsoar, monkeypatch):
    client, slept = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(), method="POST", path_contains="/incidents/search")  # the first search passes
    xsoar.faults.script(Fault(reset=True), method="POST", path_contains="/incident")  # the create: dropped
    delivery = client.create_once(BODY)
    assert len(xsoar.incidents) == 1 and delivery.incident_id == xsoar.incidents[0]["id"]
    assert slept[:3] == [0.0, 0.1, 0.2]  # then the HTTP layer's backoff
    assert xsoar.count("POST", "/incidents/search") == 1 + 3 and delivery.requests == 1 + 1 + 3 + 1


def test_the_settle_search_stops_at_the_incident_found(xsoar, monkeypatch):
    client, slept = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(), Fault(delay_after=1.0), method="POST", path_contains="/incident")
    monkeypatch.setattr(client.http, "timeout", (2.0, 0.3))
    delivery = client.create_once(BODY)
    assert len(xsoar.incidents) == 1 and slept == [0.0] and delivery.requests == 3

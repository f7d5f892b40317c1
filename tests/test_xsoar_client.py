"""The XSOAR client alone: the API base of every URL form users paste, the search, the settle period."""

import json
import warnings

import pytest

from lab.doubles.faults import Fault
from tests.support import XSOAR_API_KEY
from xsoar_module.clients.retry import RetryPolicy
from xsoar_module.clients.xsoar import XsoarClient
from xsoar_module.clients.xsoar.connection import api_base, api_configuration
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import (
    ConfigurationError,
    MalformedResponseError,
    NotFoundError,
    RejectedRequestError,
    ServiceError,
)

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


def api_client(xsoar, monkeypatch, waits=(0.0, 0.1, 0.2), warn=None) -> tuple[XsoarClient, list[float]]:
    monkeypatch.setattr(
        "xsoar_module.clients.xsoar.connection.XSOAR_POLICY", RetryPolicy(attempts=3, initial_wait=0.01)
    )
    config = ModuleConfiguration(xsoar_url=xsoar.url, xsoar_mode="api", xsoar_api_key=XSOAR_API_KEY)
    slept: list[float] = []
    return XsoarClient(config, settle_waits=waits, sleep=slept.append, warn=warn), slept


BODY = {"name": "n", "CustomFields": {"alertid": "AL-1"}, "dbotMirrorId": "AL-1"}


def test_one_search_then_one_create_then_one_search(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    created = client.create_once(BODY)
    again = client.create_once(BODY)
    assert (created.requests, created.deduplicated, created.first_id) == (3, False, None)  # searched after, too
    assert (again.requests, again.deduplicated, again.incident_id) == (1, True, created.incident_id)


def test_a_failed_search_after_the_create_does_not_fail_it(xsoar, monkeypatch):
    warnings: list[str] = []
    client, _ = api_client(xsoar, monkeypatch, warn=warnings.append)
    xsoar.faults.script(Fault(), Fault(), *[Fault(status=503)] * 3, method="POST", path_contains="/incident")
    delivery = client.create_once(BODY)
    assert (delivery.incident_id, delivery.deduplicated, delivery.first_id) == (xsoar.incidents[0]["id"], False, None)
    assert len(warnings) == 1 and "is created, but whether another run created one" in warnings[0]


def test_the_search_quotes_the_identity(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    odd = {"name": "n", "CustomFields": {"alertid": 'A"B\\'}}
    assert not client.create_once(odd).deduplicated and client.create_once(odd).deduplicated
    assert client.find_incident("A") is None


@pytest.mark.parametrize("data", ['"x"', "[1]", '{"id": "1"}'])
def test_a_search_whose_data_is_not_a_list_of_incidents_is_malformed(xsoar, monkeypatch, data):
    client, _ = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(status=200, raw_body=f'{{"total": 1, "data": {data}}}'), method="POST")
    with pytest.raises(MalformedResponseError, match=r"incident search at http.*/incidents/search.*xsoar_url"):
        client.find_incident("A")


def test_of_two_incidents_created_in_the_same_instant_every_run_finds_the_lower_id(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    created = "2026-12-02T10:00:00.5Z"
    found = {"created": created, "CustomFields": {"alertid": "A"}}
    data = [found | {"id": "10"}, found | {"id": "9"}]  # not numeric order
    xsoar.faults.script(Fault(status=200, raw_body=json.dumps({"total": 2, "data": data})), method="POST")
    assert client.find_incident("A") == found | {"id": "9"}
    assert json.loads(xsoar.requests[-1]["body"])["filter"]["sort"] == [{"field": "created", "asc": True}]


def test_a_search_whose_data_is_null_finds_nothing(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(status=200, raw_body='{"total": 0, "data": null}'), method="POST")
    assert client.find_incident("A") is None


def test_an_unanswered_create_is_searched_over_the_settle_period_before_being_sent_again(xsoar, monkeypatch):
    client, slept = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(), method="POST", path_contains="/incidents/search")  # the first search passes
    xsoar.faults.script(Fault(reset=True), method="POST", path_contains="/incident")  # the create: dropped
    delivery = client.create_once(BODY)
    assert len(xsoar.incidents) == 1 and delivery.incident_id == xsoar.incidents[0]["id"]
    assert slept[:3] == [0.0, 0.1, 0.2]  # then the HTTP layer's backoff
    assert xsoar.count("POST", "/incidents/search") == 1 + 3 + 1 and delivery.requests == 1 + 1 + 3 + 1 + 1


def test_the_settle_search_stops_at_the_incident_found(xsoar, monkeypatch):
    client, slept = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(), Fault(delay_after=1.0), method="POST", path_contains="/incident")
    monkeypatch.setattr(client.http, "timeout", (2.0, 0.3))
    delivery = client.create_once(BODY)
    assert len(xsoar.incidents) == 1 and slept == [0.0] and delivery.requests == 3


@pytest.mark.parametrize(
    ("webhook_url", "key_id", "expected"),
    [
        ("https://xsoar.example.com/instance/execute/sekoia", None, "https://xsoar.example.com"),
        (
            "https://ext-t.xdr.eu.paloaltonetworks.com/xsoar/instance/execute/s/",
            "9",
            "https://api-t.xdr.eu.paloaltonetworks.com/xsoar",
        ),
    ],
)
def test_sync_reaches_the_api_of_a_webhook_configuration_with_a_key(webhook_url, key_id, expected):
    config = ModuleConfiguration(
        api_key="k", xsoar_url=webhook_url, xsoar_token="t", xsoar_api_key="a", xsoar_api_key_id=key_id
    )
    with XsoarClient(api_configuration(config)) as client:
        assert client.mode == "api" and client.url == expected


def test_sync_without_an_api_key_names_the_settings():
    config = ModuleConfiguration(api_key="k", xsoar_url="https://x.example.com/instance/execute/s", xsoar_token="t")
    with pytest.raises(ConfigurationError, match="xsoar_mode to 'api' with xsoar_api_key"):
        api_configuration(config)


def test_modified_since_pages_by_modification_and_yields_each_change_once(xsoar, monkeypatch):
    for n in range(5):
        xsoar.add_incident({"name": f"i{n}", "CustomFields": {"alertid": f"A{n}"}}, "api")
    xsoar.add_incident({"name": "not ours"}, "api")
    client, _ = api_client(xsoar, monkeypatch)
    seen = []
    for incident in client.iter_modified_since("alertid:*", "2000-01-01T00:00:00Z", page_size=2):
        seen.append(incident["name"])
        if seen == ["i0"]:
            xsoar.close_as_person(incident["id"])  # modified meanwhile: listed again at the end, nothing skipped
    assert seen == ["i0", "i1", "i2", "i3", "i4", "i0"]


def stored(xsoar, **fields) -> dict:
    """An incident stored with a war room, as XSOAR answers it."""
    incident = xsoar.add_incident(
        {"name": "i", "createInvestigation": True, "CustomFields": {"alertid": "A1"}} | fields, "api"
    )
    return {key: value for key, value in incident.items() if key not in ("source", "entries", "activity")}


def test_an_update_sends_id_and_version_and_merges_custom_fields(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar, CustomFields={"alertid": "A1", "sekoiaiostatus": "Ongoing"})
    updated = client.update_incident(incident, {"closeNotes": "n", "CustomFields": {"sekoiaiostatus": "Closed"}})
    sent = json.loads(xsoar.requests[-1]["body"])
    assert (sent["id"], sent["version"], sent["name"]) == (incident["id"], 1, "i")
    assert updated["version"] == 2 and updated["modified"] >= incident["modified"]
    assert updated["closeNotes"] == "n"
    assert updated["CustomFields"] == {"alertid": "A1", "sekoiaiostatus": "Closed"}
    assert xsoar.incident(incident["id"])["activity"][-1]["change"] == "updated"


def test_the_simulator_refuses_a_stale_version_and_an_unknown_id(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar)
    fresh = client.update_incident(incident, {"details": "first"})
    stale = client.http.request("POST", "/incident", json=incident | {"details": "second"})
    assert stale.status_code == 409 and "version" in stale.json()["error"]
    unknown = client.http.request("POST", "/incident", json=incident | {"id": "999"})
    assert unknown.status_code == 400 and "999" in unknown.json()["error"]
    assert xsoar.incident(incident["id"])["details"] == "first" and fresh["version"] == 2


def test_an_update_on_a_stale_version_reads_the_incident_again_and_keeps_the_other_change(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar)
    xsoar.close_as_person(incident["id"], notes="by a person")  # version 2 meanwhile
    updated = client.update_incident(incident, {"CustomFields": {"sekoiaiostatus": "Closed"}})
    assert updated["version"] == 3 and updated["closeNotes"] == "by a person"
    assert updated["status"] == 2 and updated["CustomFields"]["sekoiaiostatus"] == "Closed"
    assert xsoar.count("POST", "/incidents/search") == 1


def test_an_incident_that_keeps_changing_fails_the_update_naming_it(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar)
    xsoar.close_as_person(incident["id"])  # version 2; each read below answers a version moved again
    versions = iter(range(100, 200))
    monkeypatch.setattr(client, "get_incident", lambda _id: incident | {"version": next(versions)})
    with pytest.raises(ServiceError, match=rf"update of incident {incident['id']} 5 times: the incident kept"):
        client.update_incident(incident, {"details": "x"})
    assert xsoar.count("POST", "/incident") - xsoar.count("POST", "/incidents") == 5


def test_an_update_of_an_incident_gone_or_refused_otherwise_is_a_clear_error(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    with pytest.raises(NotFoundError, match="update of incident 999: the incident is no longer found"):
        client.update_incident({"id": "999", "version": 1, "name": "n"}, {"details": "x"})
    incident = stored(xsoar)
    with pytest.raises(RejectedRequestError, match=rf"update of incident {incident['id']}.*severity"):
        client.update_incident(incident, {"severity": 9})
    with pytest.raises(MalformedResponseError, match="incident without an id"):
        client.update_incident({"id": None}, {"details": "x"})


def test_changes_given_as_a_function_are_computed_again_on_the_incident_read_again(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar, details="first")
    client.update_incident(incident, {"details": "first, then another run's line"})  # version 2 meanwhile
    updated = client.update_incident(incident, lambda now: {"details": now["details"] + ", then this run's"})
    assert updated["details"] == "first, then another run's line, then this run's" and updated["version"] == 3


def test_an_update_answered_without_the_incident_keeps_its_other_custom_fields(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar, CustomFields={"alertid": "A1", "sekoiaiostatus": "Ongoing"})
    xsoar.faults.script(Fault(status=200, raw_body=""), method="POST", path_contains="/incident")
    updated = client.update_incident(incident, {"closeNotes": "n", "CustomFields": {"sekoiaiostatus": "Closed"}})
    assert updated["CustomFields"] == {"alertid": "A1", "sekoiaiostatus": "Closed"}
    assert updated["closeNotes"] == "n" and updated["id"] == incident["id"]


def write_then_fail(xsoar, client, monkeypatch, meanwhile):
    """XSOAR answers the next update 500; `meanwhile(body)` runs before the incident is read again (another change,
    or nothing)."""
    xsoar.faults.script(Fault(status=500), method="POST", path_contains="/incident")
    read = client.get_incident

    def read_after(incident_id):
        meanwhile(json.loads(xsoar.requests[-1]["body"]))
        return read(incident_id)

    monkeypatch.setattr(client, "get_incident", read_after)


def test_a_write_that_landed_without_an_answer_is_not_made_twice(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar, details="first")
    xsoar.faults.script(Fault(delay_after=1.0), method="POST", path_contains="/incident")  # written, answered late
    monkeypatch.setattr(client.http, "timeout", (2.0, 0.3))
    updated = client.update_incident(incident, lambda now: {"details": now["details"] + ", then this run's"})
    assert updated["details"] == "first, then this run's" and updated["version"] == 2
    assert xsoar.incident(incident["id"])["details"] == "first, then this run's"
    assert xsoar.count("POST", "/incident") - xsoar.count("POST", "/incidents") == 1


def test_a_server_failure_while_another_change_came_writes_on_the_incident_read_again(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar)
    write_then_fail(
        xsoar, client, monkeypatch, lambda _body: xsoar.close_as_person(incident["id"], notes="by a person")
    )
    updated = client.update_incident(incident, {"CustomFields": {"sekoiaiostatus": "Closed"}})
    assert updated["version"] == 3 and updated["closeNotes"] == "by a person"
    sent = json.loads(xsoar.requests[-1]["body"])
    assert sent["version"] == 2 and sent["CustomFields"]["sekoiaiostatus"] == "Closed"


def test_a_server_failure_before_the_write_sends_the_same_body_after_reading_the_incident(xsoar, monkeypatch):
    client, _ = api_client(xsoar, monkeypatch)
    incident = stored(xsoar)
    write_then_fail(xsoar, client, monkeypatch, lambda _body: None)
    updated = client.update_incident(incident, {"details": "x"})
    writes = [json.loads(r["body"]) for r in xsoar.requests if r["path"].endswith("/incident")]
    assert updated["details"] == "x" and updated["version"] == 2
    assert len(writes) == 2 and writes[0] == writes[1] and xsoar.count("POST", "/incidents/search") == 1


@pytest.mark.parametrize(
    ("status", "message", "setting_named"),
    [
        (412, "In case of closed investigation", True),
        (400, "Could not find investigation 'nowhere'", True),
        (404, "Investigation 7 not found", True),
        (400, "reopenInvestigation: incident 77 is not closed", False),
        (404, "Could not find incident 77", False),
        (412, "Precondition failed: the incident is locked", False),
    ],
)
def test_a_refused_reopening_names_the_setting_only_when_the_investigation_is_missing_or_closed(
    xsoar, monkeypatch, status, message, setting_named
):
    client, _ = api_client(xsoar, monkeypatch)
    xsoar.faults.script(Fault(status=status, body=message), path_contains="/entry/execute/sync")
    with pytest.raises((ServiceError, ConfigurationError)) as raised:
        client.reopen_incident("77", "playground")
    assert message in str(raised.value) and f"({status}" in str(raised.value)
    assert isinstance(raised.value, ConfigurationError) is setting_named
    assert ("check xsoar_command_investigation_id" in str(raised.value)) is setting_named

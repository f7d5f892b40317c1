"""The XSOAR simulator measured against Palo Alto's demisto-py, the client generated from XSOAR's published swagger."""

import warnings
from datetime import UTC, datetime

import pytest

from lab.doubles.xsoar import XsoarSimulator
from lab.doubles.xsoar.queries import parse_time
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # demisto-py imports pkg_resources
    import demisto_client
    from demisto_client.demisto_api.models import (
        CreateIncidentRequest,
        IncidentFilter,
        Order,
        SearchIncidentsData,
        UpdateDataBatch,
        UpdateEntry,
    )

KEY, KEY_ID = "swagger-key", "3"


@pytest.fixture(scope="module")
def simulator():
    with XsoarSimulator(api_key=KEY, api_key_id=KEY_ID) as running:
        yield running


def test_the_create_request_fields_are_the_swaggers():
    assert set(CreateIncidentRequest.attribute_map.values()) == CREATE_REQUEST_FIELDS


@pytest.mark.parametrize("version", [6, 8])
def test_demisto_py_creates_and_searches_incidents(simulator, version):
    simulator.reset()
    auth_id = KEY_ID if version == 8 else None
    api = demisto_client.configure(base_url=simulator.url, api_key=KEY, auth_id=auth_id, verify_ssl=False)
    request = CreateIncidentRequest(
        name="PowerShell Download Cradle",
        severity=3,
        custom_fields={"alertid": "ALz7Qm3KpW2x"},
        raw_json='{"alertId": "ALz7Qm3KpW2x"}',
        labels=[{"type": "Sekoia.io alert ID", "value": "ALz7Qm3KpW2x"}],
        create_investigation=True,
    )
    created = api.create_incident(create_incident_request=request)
    assert created.id == "1" and created.name == "PowerShell Download Cradle" and created.severity == 3
    assert created.created is not None and created.modified is not None
    query = IncidentFilter(query='alertid:"ALz7Qm3KpW2x"', page=0, size=1)
    found = api.search_incidents(filter=SearchIncidentsData(filter=query))
    assert found.total == 1 and found.data[0].custom_fields == {"alertid": "ALz7Qm3KpW2x"}
    assert api.search_incidents(filter=SearchIncidentsData(filter=IncidentFilter(query='alertid:"x"'))).total == 0
    [request] = [r for r in simulator.requests if r["path"].endswith("/incident")]
    assert request["path"] == ("/xsoar/incident" if version == 8 else "/incident")
    assert request["headers"].get("x-xdr-auth-id") == auth_id


@pytest.mark.parametrize("version", [6, 8])
def test_demisto_py_closes_notes_reopens_and_searches_by_modified_time(simulator, version):
    simulator.reset()
    api = demisto_client.configure(
        base_url=simulator.url, api_key=KEY, auth_id=KEY_ID if version == 8 else None, verify_ssl=False
    )
    first, second = (
        api.create_incident(create_incident_request=CreateIncidentRequest(name=name, create_investigation=True))
        for name in ("first", "second")
    )
    entry = api.investigation_add_entry_handler(
        update_entry=UpdateEntry(investigation_id=first.id, data="**from Sekoia.io**", markdown=True)
    )
    assert entry.contents == "**from Sekoia.io**" and entry.format == "markdown" and entry.investigation_id == first.id
    since = datetime.now(UTC)
    batch = UpdateDataBatch(ids=[first.id], close_reason="False Positive", close_notes="noise", custom_fields={})
    closed = api.close_incidents_batch(update_data_batch=batch)
    assert closed.total == 1 and closed.data[0].close_reason == "False Positive" and closed.data[0].closed >= since
    query = IncidentFilter(
        query=f'modified:>="{since.isoformat()}"', sort=[Order(field="modified", asc=True)], page=0, size=10
    )
    changed = api.search_incidents(filter=SearchIncidentsData(filter=query))
    assert [incident.id for incident in changed.data] == [first.id]
    assert changed.data[0].closing_user_id == "admin" and changed.data[0].close_notes == "noise"
    dated = IncidentFilter(from_date=since, query="")
    assert api.search_incidents(filter=SearchIncidentsData(filter=dated)).total == 0  # fromDate is the creation time
    reopen = UpdateEntry(investigation_id=simulator.playground_id, data=f"!reopenInvestigation id={first.id}")
    [answer] = api.investigation_add_entries_sync(update_entry=reopen)
    assert answer.type == 1 and simulator.incident(first.id)["status"] == 1
    assert parse_time(simulator.incident(second.id)["modified"]) == second.modified  # untouched

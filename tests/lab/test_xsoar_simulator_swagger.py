"""The XSOAR simulator measured against Palo Alto's demisto-py, the client generated from XSOAR's published swagger."""

import warnings

import pytest

from lab.xsoar_simulator import XsoarSimulator
from xsoar_module.mapping.create_request import CREATE_REQUEST_FIELDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # demisto-py imports pkg_resources
    import demisto_client
    from demisto_client.demisto_api.models import CreateIncidentRequest, IncidentFilter, SearchIncidentsData

KEY, KEY_ID = "swagger-key", "3"


@pytest.fixture(scope="module")
def simulator():
    with XsoarSimulator(api_key=KEY, api_key_id=KEY_ID) as running:
        yield running


def test_the_create_request_fields_are_the_swaggers():
    assert CREATE_REQUEST_FIELDS == set(CreateIncidentRequest.attribute_map.values())


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
    query = IncidentFilter(query='alertid:"ALz7Qm3KpW2x" or dbotMirrorId:"ALz7Qm3KpW2x"', page=0, size=1)
    found = api.search_incidents(filter=SearchIncidentsData(filter=query))
    assert found.total == 1 and found.data[0].custom_fields == {"alertid": "ALz7Qm3KpW2x"}
    assert api.search_incidents(filter=SearchIncidentsData(filter=IncidentFilter(query='alertid:"x"'))).total == 0
    [request] = [r for r in simulator.requests if r["path"].endswith("/incident")]
    assert request["path"] == ("/xsoar/incident" if version == 8 else "/incident")
    assert request["headers"].get("x-xdr-auth-id") == auth_id

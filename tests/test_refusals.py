"""One status-to-error mapping for both services, their hints as data."""

import requests

from xsoar_module.clients.answers import Refusal, Refusals
from xsoar_module.errors import NotFoundError, RejectedRequestError


def test_refusals_read_each_service_hints_as_data():
    refusals = Refusals(
        {404: Refusal(NotFoundError, "{service} found no {what} ({status}){detail}")},
        Refusal(RejectedRequestError, "{service} refused {what}: {answer}{reason}"),
    )
    missing, refused = requests.Response(), requests.Response()
    missing.status_code, missing._content = 404, b'{"message": "no such alert"}'
    refused.status_code, refused.reason, refused._content = 409, "Conflict", b""
    error = refusals.error(missing, "Sekoia.io", "alert X")
    assert isinstance(error, NotFoundError) and str(error) == "Sekoia.io found no alert X (404): no such alert"
    error = refusals.error(refused, "Cortex XSOAR", "the incident")
    assert isinstance(error, RejectedRequestError) and error.status == 409
    assert str(error) == "Cortex XSOAR refused the incident: 409 Conflict: no reason given"

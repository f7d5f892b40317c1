"""Errors that end a block with a message a user can act upon."""

from pydantic import ValidationError


class ModuleError(Exception):
    """Base of the errors this module reports to the user (message only, never a stack trace)."""


class ConfigurationError(ModuleError):
    """A setting of the module configuration is missing or wrong: the message names it."""


class InvalidInputError(ModuleError):
    """An argument or an input document is unusable: the message says what to change."""


class ServiceError(ModuleError):
    """A remote service (Sekoia.io or XSOAR) refused or failed a request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class AuthenticationError(ServiceError):
    """401/403: the credential was rejected or lacks a permission."""


class NotFoundError(ServiceError):
    """404: the object or the endpoint does not exist."""


class RejectedRequestError(ServiceError):
    """4xx other than auth and not found: the service refused the request as written."""


class UnavailableError(ServiceError):
    """The service could not be reached or kept failing until the retries ran out."""


class MalformedResponseError(ServiceError):
    """The service answered something this module cannot read."""


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """`Invalid arguments: limit: Input should be less than or equal to 1000; uuid: Field required`."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        parts = list(error["loc"])
        if parts and isinstance(parts[0], int):  # the position of the validated `run` argument
            parts = parts[1:]
        place = ".".join(str(part) for part in parts) or "(whole document)"
        problems.append(f"{place}: {error['msg']}")
    return f"Invalid {what}: " + "; ".join(problems)

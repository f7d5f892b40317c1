"""What every action of the module shares: configuration access, clients, clean errors, masked secrets, files."""

import contextlib
import posixpath
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ValidationError, ValidationInfo
from sekoia_automation.action import Action
from sekoia_automation.exceptions import ModuleConfigurationError

from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import InvalidInputError, ModuleError, describe_validation_error
from xsoar_module.models.schema import NonBlankStr
from xsoar_module.module import configuration_of, masker_of
from xsoar_module.quoting import MAX_MESSAGE, check_identifier, quoted, shorten

# main.py imports every item in every block's process: the clients and the mapping load when an action runs
if TYPE_CHECKING:
    from xsoar_module.clients.sekoia import SekoiaClient

MAX_FILE_BYTES = 64 * 1024 * 1024
OUTCOME = "Outcome: "  # the last log line of every run: `Outcome: applied` (see `ModuleAction.outcome`)


def _bounded_identifier(value: str, info: ValidationInfo) -> str:
    return check_identifier(value, info.field_name or "identifier")


BoundedIdentifier = AfterValidator(_bounded_identifier)
Identifier = Annotated[NonBlankStr, BoundedIdentifier]  # a UUID or short ID argument: length-checked, one line


class ModuleAction(Action):
    """An action whose failures end as one clear error line on the Runs page, never a stack trace."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run = self._reporting_errors(self.run)  # type: ignore[method-assign]

    @property
    def config(self) -> ModuleConfiguration:
        return configuration_of(self.module)

    def sekoia_client(self) -> "SekoiaClient":
        from xsoar_module.clients.sekoia import SekoiaClient

        return SekoiaClient(self.config, on_retry=self._log_retry)

    def set_task_as_running(self) -> None:
        # a configuration error is reported as a clean error by run(), which reads the configuration again
        with contextlib.suppress(ModuleConfigurationError):
            super().set_task_as_running()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations

    def log(self, message: str, level: str = "debug", only_sentry: bool = True, **kwargs: Any) -> None:
        """Masked and bounded: quote long inputs with `bounds.shorten` so that the rest of the line stays."""
        message = shorten(masker_of(self.module).mask(str(message)), MAX_MESSAGE)
        super().log(message, level, only_sentry, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:
        super().error(shorten(masker_of(self.module).mask(str(message)), MAX_MESSAGE))

    def send_results(self) -> None:
        """Results are masked like logs and errors before they leave (an answer may echo a credential)."""
        if self._results is not None:  # private: the SDK's `results` property has no setter
            self._results = masker_of(self.module).mask_value(self._results)
        super().send_results()  # type: ignore[no-untyped-call]  # the SDK's method has no annotations

    def json_argument(self, name: str, arguments: dict[str, Any], required: bool = True) -> Any:
        """`name` itself, or the JSON file `{name}_path` of the run's data folder (see `read_data_file`)."""
        # `_result_as_file` is the SDK's flag that json_result reads; no public way sets it
        if arguments.get(name) is not None:
            self._result_as_file = False
            return arguments[name]
        if arguments.get(f"{name}_path") is not None:
            self._result_as_file = True
            return self.read_json_file(f"{name}_path", arguments[f"{name}_path"])
        if required:
            raise InvalidInputError(f"{name} is missing: give {name} or {name}_path")
        return None

    def read_json_file(self, argument: str, value: Any) -> Any:
        """The JSON document of a `*_path` argument, or one clear InvalidInputError naming the argument."""
        content = self.read_data_file(argument, value)
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            raise InvalidInputError(f"{argument} {quoted(value)} is not a JSON file (or not UTF-8)") from None

    def read_data_file(self, argument: str, value: Any) -> bytes:
        """The bytes of a file of the run's data folder named by a `*_path` argument.

        A path that leaves the folder (absolute elsewhere, `..`, a symbolic link pointing out, a NUL byte) is
        refused with the same message whether the target exists or not; a missing file inside says so.
        """
        path = self._data_file(argument, value)
        try:
            if not path.is_file():
                raise InvalidInputError(
                    f"{argument} {quoted(value)}: no such file in the run's data (a file of an earlier block, "
                    "e.g. {{ node.0.file_path }}); check the path or pass the value itself"
                )
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InvalidInputError(
                    f"{argument} {quoted(value)} is {size} bytes: at most {MAX_FILE_BYTES} are read"
                )
            return path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"{argument} {quoted(value)} could not be read ({exc.strerror})") from None

    def _data_file(self, argument: str, value: Any) -> Path:
        refused = InvalidInputError(
            f"{argument} must be a path inside the run's data folder, relative to it "
            f"(e.g. {{{{ node.0.file_path }}}}): {quoted(value, 80)} is refused"
        )
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise refused
        root = self.data_path
        if getattr(root, "bucket", None) is not None:  # object storage: no links, the path is checked as written
            relative = posixpath.normpath(value)
            if posixpath.isabs(relative) or relative == ".." or relative.startswith("../"):
                raise refused
            return root / relative
        try:
            base = root.resolve()
            resolved = (base / value).resolve()
        except (OSError, RuntimeError, ValueError):  # a link loop, an unresolvable name
            raise refused from None
        if resolved == base or not resolved.is_relative_to(base):
            raise refused
        return resolved

    def outcome(self, results: dict[str, Any]) -> str:
        """The class of what a successful run did, logged last (`failed` when it fails): `succeeded` unless the
        action tells more (`created`, `applied`, `unchanged`, `superseded`...)."""
        return "succeeded"

    def _log_retry(self, message: str) -> None:
        self.log(message, level="warning")

    def _reporting_errors(self, run: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(run)
        def reporting(arguments: Any) -> Any:
            try:
                results = run(arguments)
                dumped = results.model_dump() if isinstance(results, BaseModel) else results
                self.log(OUTCOME + self.outcome(dumped if isinstance(dumped, dict) else {}), level="info")
                return results
            except ValidationError as exc:
                is_results = self.results_model is not None and exc.title == self.results_model.__name__
                self.error(describe_validation_error(exc, "results" if is_results else "arguments"))
            except ModuleError as exc:
                self.error(str(exc))
            except Exception as exc:  # a defect: one line on the Runs page, the traceback in the logs
                self.log(traceback.format_exc(), level="debug")
                self.error(f"{self.name} failed unexpectedly ({type(exc).__name__}: {shorten(exc)})")
            self.log(OUTCOME + "failed", level="info")
            return None

        return reporting


def sync_outcome(results: dict[str, Any]) -> str:
    """A sync action's outcome class: `superseded` (a later change won), `unchanged`, `not_found`, else `applied`."""
    if results.get("superseded_by") is not None:
        return "superseded"
    action = results.get("action")
    return action if action in ("unchanged", "not_found") else "applied"

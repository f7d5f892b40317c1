"""What every action of the module shares: configuration access, clients, clean errors, masked secrets."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from pydantic import ValidationError
from sekoia_automation.action import Action
from sekoia_automation.exceptions import ModuleConfigurationError

from xsoar_module.clients.sekoia import SekoiaClient
from xsoar_module.configuration import ModuleConfiguration
from xsoar_module.errors import ModuleError, describe_validation_error
from xsoar_module.module import configuration_of, masker_of


class ModuleAction(Action):
    """An action whose failures end as one clear error line on the Runs page, never a stack trace."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run = self._reporting_errors(self.run)  # type: ignore[method-assign]

    @property
    def config(self) -> ModuleConfiguration:
        return configuration_of(self.module)

    def sekoia_client(self) -> SekoiaClient:
        config = self.config
        return SekoiaClient(config.sekoia_api_url, config.require_api_key(), on_retry=self._log_retry)

    def set_task_as_running(self) -> None:
        try:
            super().set_task_as_running()
        except ModuleConfigurationError:
            pass  # reported as a clean error by run(), which reads the configuration again

    def log(self, message: str, level: str = "debug", only_sentry: bool = True, **kwargs: Any) -> None:
        super().log(masker_of(self.module).mask(message), level, only_sentry, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:
        super().error(masker_of(self.module).mask(message))

    def _log_retry(self, message: str) -> None:
        self.log(message, level="warning")

    def _reporting_errors(self, run: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(run)
        def reporting(arguments: Any) -> Any:
            try:
                return run(arguments)
            except ValidationError as exc:
                is_results = self.results_model is not None and exc.title == self.results_model.__name__
                self.error(describe_validation_error(exc, "results" if is_results else "arguments"))
            except ModuleError as exc:
                self.error(str(exc))
            return None

        return reporting

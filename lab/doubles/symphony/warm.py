"""In-process ("warm") runs: main.py's module and actions, built without its `__main__` block or environment."""

import ast
import copy
import importlib
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sekoia_automation.action
from sekoia_automation.action import Action, ActionLogHandler
from sekoia_automation.configuration import Configuration
from sekoia_automation.configuration.exception import MissingConfigurationError
from sekoia_automation.module import Module, ModuleItem

_binding = threading.local()


class DictConfiguration(Configuration):
    """The SDK's configuration loader over a dict: each run has its own, so concurrent runs never share inputs."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def load(self, name: str, type_: str = "str", non_exist_ok: bool = False) -> Any:
        if name in self._values:
            return copy.deepcopy(self._values[name])
        if non_exist_ok:
            return None
        raise MissingConfigurationError(f"{name} is not set for this run")

    def __hash__(self) -> int:
        return id(self)


class RunLogHandler(ActionLogHandler):
    """The SDK's handler; created inside an in-process run, it keeps only the records of the run's thread.

    The SDK attaches an action's handler to the root logger: without this, actions running concurrently in one
    process would each receive the others' Python logging records.
    """

    def __init__(self, action: Action):
        super().__init__(action)
        if getattr(_binding, "active", False):
            thread = threading.get_ident()
            self.addFilter(lambda record: record.thread == thread)


@contextmanager
def _logs_bound_to_this_thread() -> Iterator[None]:
    # Action.__init__ looks the name up at each call; installed for good, as outside a bound run it changes nothing
    sekoia_automation.action.ActionLogHandler = RunLogHandler  # type: ignore[misc]  # the SDK has no hook for it
    _binding.active = True
    try:
        yield
    finally:
        _binding.active = False


@dataclass(frozen=True)
class EntryPoint:
    """The module class main.py instantiates and the items it registers, read with `ast` and imported."""

    module_class: type[Module]
    items: dict[str, type[ModuleItem]]

    @classmethod
    def read(cls, module_dir: Path) -> "EntryPoint":
        tree = ast.parse((module_dir / "main.py").read_text())
        imports = {
            alias.asname or alias.name: (node.module, alias.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            for alias in node.names
        }
        receiver, registered = _registrations(tree)
        if str(module_dir) not in sys.path:
            sys.path.insert(0, str(module_dir))
        return cls(
            module_class=_imported(imports, _instantiated_class(tree, receiver)),
            items={command: _imported(imports, name) for command, name in registered.items()},
        )

    def run_action(self, command: str, manifest: dict, inputs: dict[str, Any], data_path: Path) -> str | None:
        """Build the module, execute the action in this thread; a failure the SDK did not report, else None."""
        module = self.module_class()
        module._config = DictConfiguration(inputs)
        module._manifest = manifest
        for name, item in self.items.items():
            module.register(item, name)
        item_class = self.items.get(command)
        if item_class is None:
            return f"Could not find any Action or Trigger matching command '{command}'"
        if not issubclass(item_class, Action):
            raise ValueError(f"{command} is not an action: triggers run in process mode only")
        try:
            with _logs_bound_to_this_thread():
                action = item_class(module=module, data_path=data_path)
            action.execute()
        except Exception:
            return traceback.format_exc()
        return None


def _registrations(tree: ast.Module) -> tuple[str, dict[str, str]]:
    """The variable holding the module and `{docker_parameters: class name}` of its `register(Class, "name")` calls."""
    receivers: set[str] = set()
    registered: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register"
            and isinstance(node.func.value, ast.Name)
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Name)
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            receivers.add(node.func.value.id)
            registered[node.args[1].value] = node.args[0].id
    if len(receivers) != 1:
        raise ValueError(f"main.py should register its items on one module, found {sorted(receivers) or 'none'}")
    return receivers.pop(), registered


def _instantiated_class(tree: ast.Module, receiver: str) -> str:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == receiver for target in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ):
            return node.value.func.id
    raise ValueError(f"main.py never assigns `{receiver} = SomeModule()`")


def _imported(imports: dict[str, tuple[str, str]], name: str) -> Any:
    if name not in imports:
        raise ValueError(f"main.py uses {name} without a `from <module> import {name}` line")
    module_name, attribute = imports[name]
    return getattr(importlib.import_module(module_name), attribute)

"""A dataclass field computed on first use, for values that are costly and often never needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Lazy:
    """A field (of a frozen dataclass too) whose value, when none was given (None), is ``compute(instance)`` the
    first time it is read, and kept. Declare it with ``field(default=Lazy(compute), compare=False, repr=False)``."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute = compute

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_lazy_{name}"

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self  # the dataclass's default: "compute when asked"
        found = instance.__dict__.get(self.slot)
        if found is None:
            found = self.compute(instance)
            instance.__dict__[self.slot] = found
        return found

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.slot] = None if value is self else value

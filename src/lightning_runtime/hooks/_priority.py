"""Hook priorities, exactly as MMEngine's ``mmengine/runner/priority.py``.

Lower value means earlier. Names are case-insensitive.

Example:
    >>> get_priority("ABOVE_NORMAL"), get_priority(Priority.LOW), get_priority(42)
    (40, 70, 42)
"""

from __future__ import annotations

from enum import Enum
from typing import Union

from lightning_runtime.errors import ConfigError, did_you_mean

__all__ = ["Priority", "get_priority", "priority_name"]


class Priority(Enum):
    """Hook priority levels (MMEngine's values)."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: Union[int, str, Priority], path: str | None = None) -> int:
    """Return the integer value of ``priority`` (a name, a :class:`Priority` or an int 0..100).

    Raises:
        ConfigError: For an unknown name, an int out of 0..100 or another type; ``path`` is the
            config path shown (``custom_hooks[0].priority``).
    """
    if isinstance(priority, bool):
        raise ConfigError(f"priority must be a name or an int, got {priority!r}", path=path, fix="write priority='NORMAL' (or another name) or an int in 0..100")
    if isinstance(priority, int):
        if priority < 0 or priority > 100:
            raise ConfigError(
                f"priority must be between 0 and 100, got {priority}",
                path=path,
                fix="use an int in 0..100 (lower runs first) or a name such as 'NORMAL'",
            )
        return priority
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            names = [p.name for p in Priority]
            raise ConfigError(
                f"unknown priority {priority!r}",
                path=path,
                candidates=did_you_mean(priority.upper(), names),
                expected="one of " + ", ".join(names) + " or an int in 0..100",
                fix="use one of the priority names above or an int in 0..100",
            ) from None
    raise ConfigError(
        f"priority must be an int, a str or a Priority, got {type(priority).__name__}", path=path,
        fix="write priority='NORMAL' (or another name) or an int in 0..100",
    )


def priority_name(priority: Union[int, str, Priority]) -> str:
    """The name MMEngine prints for a priority (``'NORMAL'``), or the int as text."""
    value = get_priority(priority)
    try:
        return Priority(value).name
    except ValueError:
        return str(value)

"""A string that never shows itself in logs, reprs or error messages."""

from __future__ import annotations


class Secret:
    """Wraps a secret value; ``str()``, ``repr()`` and f-strings print ``***``.

    Call :meth:`reveal` at the one place the real value is needed (an HMAC key,
    an ``Authorization`` header), so a grep for ``reveal(`` lists every use.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

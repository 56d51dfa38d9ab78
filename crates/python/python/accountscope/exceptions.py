"""Exceptions of accountscope: one class per error category of the core library.

Every error raised by accountscope is an :class:`AccountscopeError`; catch a subclass to handle one
category. Each also subclasses the matching built-in exception (``ValueError``, ``OSError``,
``NotImplementedError``) so code that already catches those keeps working. The message names the table,
column, row or field and what was expected.
"""

from __future__ import annotations

try:  # scikit-learn users catch sklearn's NotFittedError; ours is one when sklearn is installed.
    from sklearn.exceptions import NotFittedError as _SklearnNotFitted
except ImportError:  # pragma: no cover - depends on the environment
    class _SklearnNotFitted(ValueError, AttributeError):  # type: ignore[no-redef]
        """Stand-in base when scikit-learn is not installed."""


class AccountscopeError(Exception):
    """Base class of every accountscope error."""

    #: Stable category name shared with the Rust, Node and C APIs.
    category = "INTERNAL"


class InvalidInputError(AccountscopeError, ValueError):
    """A value in the caller's data is not what was expected (or a SQL query does not plan)."""

    category = "INVALID_INPUT"


class SchemaError(AccountscopeError, ValueError):
    """A table's columns or types do not fit the expected schema."""

    category = "SCHEMA"


class ConfigError(AccountscopeError, ValueError):
    """A configuration (keyword arguments, mapping, rule set) is invalid."""

    category = "CONFIG"


class NotFittedError(AccountscopeError, _SklearnNotFitted):
    """A model or detector was used before it was fitted."""

    category = "NOT_FITTED"


class IoError(AccountscopeError, OSError):
    """Reading or writing a file or stream failed."""

    category = "IO"


class ModelError(AccountscopeError):
    """A model could not be trained, loaded or applied."""

    category = "MODEL"


class UnsupportedError(AccountscopeError, NotImplementedError):
    """The request is valid but not supported."""

    category = "UNSUPPORTED"


class InternalError(AccountscopeError):
    """A bug in accountscope: please report it."""

    category = "INTERNAL"


class CancelledError(AccountscopeError):
    """The core's ``CANCELLED`` category (a long call stopped by its caller). accountscope's own calls never
    raise it: Ctrl-C raises ``KeyboardInterrupt`` and an exception in a progress callback propagates as
    itself; the class exists so that every core category has its class."""

    category = "CANCELLED"


_BY_CATEGORY: dict[str, type[AccountscopeError]] = {
    cls.category: cls
    for cls in (
        InvalidInputError,
        SchemaError,
        ConfigError,
        NotFittedError,
        IoError,
        ModelError,
        UnsupportedError,
        InternalError,
        CancelledError,
    )
}


def error_class(category: str) -> type[AccountscopeError]:
    """The exception class of a core error category (used by the native module)."""
    return _BY_CATEGORY.get(category, InternalError)


__all__ = [
    "AccountscopeError",
    "CancelledError",
    "ConfigError",
    "InternalError",
    "InvalidInputError",
    "IoError",
    "ModelError",
    "NotFittedError",
    "SchemaError",
    "UnsupportedError",
    "error_class",
]

"""What every callback shares: turning failures into messages for the page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import dash
from dash.exceptions import PreventUpdate

from capplan.dashboard.services import clip
from capplan.errors import CapplanError, SpecError

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def message_of(exc: BaseException) -> str:
    """The page text of a failure: the CapplanError's message, or a generic internal error."""
    if isinstance(exc, CapplanError):
        return clip(str(exc))
    return f"internal error ({type(exc).__name__}); the server log has the details"


def guarded(
    on_error: Callable[[str, BaseException], Any],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a callback; on a failure return ``on_error(message, exc)`` instead of raising.

    ``PreventUpdate`` passes through. Unexpected exceptions are logged with their traceback
    (server side only) and shown as an internal error.
    """

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except PreventUpdate:
                raise
            except Exception as exc:
                if not isinstance(exc, CapplanError):
                    log.exception("callback %s failed", func.__name__)
                result: R = on_error(message_of(exc), exc)
                return result

        return wrapper

    return decorator


def problems_of(exc: BaseException) -> list[tuple[str, str]]:
    """``(where, what)`` pairs of a SpecError, or one pair with the message."""
    if isinstance(exc, SpecError):
        return list(exc.problems)
    return [("", message_of(exc))]


def clicked_id(clicks: list[int | None]) -> str:
    """The record id of the pattern-matched button that was clicked (else no update: a list
    of buttons rendered anew triggers its callback with no clicks)."""
    trigger = dash.ctx.triggered_id
    if not trigger or not any(clicks) or not dash.ctx.triggered[0].get("value"):
        raise PreventUpdate
    return str(trigger["id"])

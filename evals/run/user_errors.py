"""Errors a user can fix (missing data, a bad config value, a model that refuses every call) end the
command with their message and exit code 2, not a traceback. RFT_DEBUG=1 shows the traceback too."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from evals.inference.cache import CacheError
from evals.inference.engine import FatalRunError
from tasks.data_root import MissingDataError

# Config and input errors in this project subclass ValueError and name the file, key and fix.
USER_ERRORS: tuple[type[BaseException], ...] = (MissingDataError, FatalRunError, CacheError, ValueError)

F = TypeVar("F", bound=Callable[..., Any])


def exit_on_user_error(function: F) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except USER_ERRORS as exc:
            if os.environ.get("RFT_DEBUG"):
                raise
            print(f"rft-evals: error: {exc}", file=sys.stderr)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]

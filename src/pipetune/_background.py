"""One call run in a daemon thread while the caller does something else, then waited for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BackgroundCall(Generic[T]):
    """``function()`` started at once in a daemon thread; :meth:`result` waits for it and
    returns its value or raises its exception. Daemon: a caller that fails or is
    interrupted meanwhile does not wait for it (its value is then dropped)."""

    def __init__(self, function: Callable[[], T], name: str) -> None:
        self._function: Callable[[], T] | None = function
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        function, self._function = self._function, None  # what it holds goes when it ends
        assert function is not None
        try:
            self._value = function()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        value, self._value = self._value, None
        return value  # type: ignore[return-value]

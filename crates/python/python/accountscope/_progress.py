"""Progress display for long calls (model training, health histories, anomaly detection).

``progress=True`` shows a bar once a call has run for half a second: tqdm's (``tqdm.auto``, so a widget in
Jupyter) when tqdm is installed, else one plain text line on stderr rewritten in place. ``progress=False``
shows nothing; a callable receives ``(task, done, total)`` itself. Ctrl-C stops the call with
``KeyboardInterrupt`` whatever the setting: the native side checks for it while it waits.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Callable, Iterator, Union

Callback = Callable[[str, int, int], None]
Progress = Union[bool, Callback]

#: A call shorter than this shows no bar.
DELAY_SECONDS = 0.5


class _Tqdm:
    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None
        self._task = ""

    def __call__(self, task: str, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=total, desc=task, delay=DELAY_SECONDS, leave=False, unit="round")
        elif task != self._task:
            self._bar.reset(total=total)
            self._bar.set_description(task, refresh=False)
        self._task = task
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Text:
    def __init__(self) -> None:
        self._start = time.monotonic()
        self._written = 0

    def __call__(self, task: str, done: int, total: int) -> None:
        if time.monotonic() - self._start < DELAY_SECONDS:
            return
        line = f"{task}: {done}/{total} ({100 * done // max(total, 1)}%)"
        sys.stderr.write("\r" + line.ljust(self._written))
        sys.stderr.flush()
        self._written = max(self._written, len(line))

    def close(self) -> None:
        if self._written:
            sys.stderr.write("\r" + " " * self._written + "\r")
            sys.stderr.flush()


@contextlib.contextmanager
def reporter(progress: Progress) -> Iterator[Callback | None]:
    """The callback to hand to a native long call for ``progress``; closes the bar afterwards."""
    if progress is False or progress is None:
        yield None
        return
    if callable(progress):
        yield progress
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        display: _Tqdm | _Text = _Text()
    else:
        display = _Tqdm(tqdm)
    try:
        yield display
    finally:
        display.close()

"""Ctrl-C during training asks the loop to stop at the end of the current step, never in the
middle of one, so the checkpoint it then saves is consistent."""

from __future__ import annotations

import signal
import threading


class StopOnInterrupt:
    """``with StopOnInterrupt() as stop:`` … ``if stop.requested:``; SIGINT's handler is restored
    on leaving. Outside the main thread (where signals cannot be caught) it never stops."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

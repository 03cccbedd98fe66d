"""SIGTERM and SIGINT end an episode promptly; the final record is written with signals held.

`interrupt_on_sigterm()` makes SIGTERM behave like Ctrl-C for the duration of a `with`
block, and SIGINT too when the process inherited it ignored (a background job of a script
starts with SIGINT ignored, and Python then never installs its handler, so `kill -INT` would
do nothing): both raise `KeyboardInterrupt` in the main thread at once, also out of a sleep, a
wait on the policy or a blocked read, and the loop records the episode as "cancelled" with
every finished step kept (`vlagent.agent.loop`). A flag checked between steps would let a
3600 s wait or a hung policy outlive the signal, which is why it is an exception.

`signals_held()` defers both signals while the recorder writes the final result, so a
second Ctrl-C cannot cut that write short; a signal that arrives meanwhile is delivered
when the block ends.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_HELD = {signal.SIGINT, signal.SIGTERM}


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt inside the block (main thread only; elsewhere a
    no-op), whatever their handlers were; both are restored afterwards."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """Defer SIGINT and SIGTERM for the block (POSIX; elsewhere a no-op)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

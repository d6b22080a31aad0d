"""Work done in a forked copy of this process, beside the work done here.

The independent derivation is Python's work, so one process uses one core. Its
customers are independent of one another once the org is read and grouped, so
a forked copy of the process (which shares the org with it, page by page,
until either writes) can derive some of them while this one derives the
others. Only the copy's result crosses back, pickled through a pipe.

The copy is forked while other threads of this process may be mid-query (the
server's checks beside the derivation). It is safe because the work done in
the copy is pure computation: it never logs, never touches a database
connection or an inherited socket, and leaves through `os._exit`. Keep it so.
"""
from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import TypeVar

T = TypeVar("T")

_FORK = multiprocessing.get_context("fork")


def can_fork() -> bool:
    """Whether this process may have children (multiprocessing refuses them to its daemonic processes)."""
    return not multiprocessing.current_process().daemon


def _run(work: Callable[[], T], sender: Connection) -> None:
    try:
        outcome: tuple[bool, object] = (True, work())
    except Exception as error:  # handed to the parent, which raises it with where the copy met it
        error.add_note(f"in the forked copy:\n{traceback.format_exc()}")
        outcome = (False, error)
    try:
        sender.send(outcome)
    except Exception:  # a result or error that does not pickle: say so rather than end without a word
        sender.send((False, RuntimeError(f"the forked copy's outcome could not be handed back:\n"
                                         f"{traceback.format_exc()}")))


@contextmanager
def forked(work: Callable[[], T], name: str) -> Iterator[Callable[[], T]]:
    """`work()` runs in a forked copy of this process while the block runs. The block is given a function that
    waits for the result and returns it, or raises what `work` raised. Leaving the block kills the copy if it is
    still running (when the block failed first): SIGKILL, since the copy inherits this process's signal handlers,
    and an Airflow task's ignores a SIGTERM that is not for the task itself."""
    receiver, sender = _FORK.Pipe(duplex=False)
    process = _FORK.Process(target=_run, args=(work, sender), name=name)
    process.start()
    sender.close()

    def result() -> T:
        try:
            done, value = receiver.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"{name} ended without a result (exit code {process.exitcode})") from None
        process.join()
        if not done:
            raise value
        return value

    try:
        yield result
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()

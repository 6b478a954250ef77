"""Running a statement off the main thread, so the shell can show progress and cancel it.

`StatementJob` runs `Session.execute` and fetches up to `row_limit` rows on a worker
thread; the main thread waits on it and draws a `Spinner`. On Ctrl-C the main
thread calls `cancel()`: the result's own `cancel()` once there is a result, and
`Session.cancel()` for the work `execute` does before returning (a blocking query's
work happens before its first batch).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, TextIO

from hiveish import errors

if TYPE_CHECKING:
    import pyarrow as pa

    from hiveish.session import Result, Session


@dataclass
class Fetched:
    """A statement's outcome with the rows to show."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    batches: list["pa.RecordBatch"] = field(default_factory=list)
    rows: int = 0
    truncated: bool = False  # more rows existed than the row limit; they were not fetched

    @property
    def has_rows(self) -> bool:
        return bool(self.columns)


class StatementJob:
    """One statement on a worker thread: `start()`, then `wait()`, `cancel()` on Ctrl-C."""

    def __init__(self, session: "Session", text: str, row_limit: int = 0) -> None:
        self.session = session
        self.text = text
        self.row_limit = row_limit
        self.done = threading.Event()
        self.fetched: Fetched | None = None
        self.error: BaseException | None = None
        self.result: "Result | None" = None
        self.cancelled = False
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="hiveish-statement", daemon=True)

    def start(self) -> "StatementJob":
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self.session.execute(self.text)
            with self._lock:
                self.result = result
            if self.cancelled:
                raise errors.Cancelled()
            self.fetched = self._fetch(result)
        except BaseException as e:  # handed to the main thread
            self.error = e
        finally:
            self.done.set()

    def _fetch(self, result: "Result") -> Fetched:
        fetched = Fetched(list(result.columns))
        if not result.has_rows:
            return fetched
        limit = self.row_limit
        batches = iter(result.batches)
        try:
            for batch in batches:
                if self.cancelled:
                    raise errors.Cancelled()
                if not batch.num_rows:
                    continue
                if limit and fetched.rows >= limit:
                    fetched.truncated = True
                    break
                if limit and fetched.rows + batch.num_rows > limit:
                    batch = batch.slice(0, limit - fetched.rows)
                    fetched.truncated = True
                fetched.batches.append(batch)
                fetched.rows += batch.num_rows
                if fetched.truncated:
                    break
        finally:
            if fetched.truncated and result.cancel is not None:
                _quietly(result.cancel)
            close = getattr(batches, "close", None)
            if close is not None:
                _quietly(close)
        return fetched

    def wait(self, spinner: "Spinner | None" = None) -> Fetched:
        """Block until the statement is done (Ctrl-C raises KeyboardInterrupt here)."""
        started = time.monotonic()
        try:
            while not self.done.wait(0.1):
                if spinner is not None:
                    spinner.tick(time.monotonic() - started)
        finally:
            if spinner is not None:
                spinner.clear()
        if self.error is not None:
            raise self.error
        assert self.fetched is not None
        return self.fetched

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            result = self.result
        if result is not None and result.cancel is not None:
            _quietly(result.cancel)
        _quietly(self.session.cancel)

    def stop(self, grace: float = 10.0) -> bool:
        """Cancel and wait up to `grace` seconds for the worker; True once it has stopped."""
        deadline = time.monotonic() + grace
        self.cancel()
        while not self.done.wait(0.2):
            if time.monotonic() > deadline:
                return False
            self.cancel()  # again: the engine may have started its next step since
        return True


def _quietly(fn) -> bool:
    try:
        fn()
        return True
    except Exception:
        return False


class Spinner:
    """`| Running... 3.2 s (Ctrl-C cancels)` on one line, redrawn in place, after `delay`.

    With `progress` (a callable returning the running statement's MapReduce stages, as
    `Session.progress()`), MapReduce stages are drawn instead, as Hive shows them:
    `Stage-1: map  45% [#########           ]  reduce   0% [...]  3.2 s`, updated in place;
    each finished stage keeps one line (`Stage-1: map 100%  reduce 100%  job_... SUCCEEDED`).
    Stages whose job id is in `ignore` belong to an earlier statement.
    """

    FRAMES = "|/-\\"

    def __init__(self, stream: TextIO, delay: float = 1.0, progress: "Callable[[], list[dict]] | None" = None,
                 ignore: "set[str] | None" = None) -> None:
        self.stream = stream
        self.delay = delay
        self.progress = progress
        self.ignore = set(ignore or ())
        self.shown = False
        self._frame = 0
        self._finished: set[str] = set()
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def _stages(self) -> list[dict]:
        if self.progress is None:
            return []
        try:
            return [p for p in self.progress() if p.get("job_id") not in self.ignore]
        except Exception:  # noqa: BLE001 - progress is best effort
            return []

    def tick(self, elapsed: float) -> None:
        if not self.enabled:
            return
        stages = self._stages()
        if stages:
            self._draw_stages(stages)
            return
        if elapsed < self.delay:
            return
        frame = self.FRAMES[self._frame % len(self.FRAMES)]
        self._frame += 1
        self.stream.write(f"\r{frame} Running... {elapsed:.1f} s (Ctrl-C cancels)\x1b[K")
        self.stream.flush()
        self.shown = True

    def _draw_stages(self, stages: list[dict]) -> None:
        from hiveish.jobs import progress_text

        out = []
        running = None
        for p in stages:
            if p["status"] == "RUNNING":
                running = p
            elif p["job_id"] not in self._finished:
                self._finished.add(p["job_id"])
                out.append(f"\r{progress_text(p)}  {p['job_id']} {_STATUS.get(p['status'], p['status'])} "
                           f"in {p['elapsed']:.1f} s\x1b[K\n")
        if running is not None:
            out.append(f"\r{progress_text(running, bars=True)}\x1b[K")
            self.shown = True
        elif out:
            self.shown = False
        if out:
            self.stream.write("".join(out))
            self.stream.flush()

    def clear(self) -> None:
        stages = self._stages() if self.enabled else []
        if stages:
            self._draw_stages(stages)  # the last stages' final lines
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False


_STATUS = {"SUCCESS": "SUCCEEDED"}

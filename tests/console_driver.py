"""Types into a console running in a thread, one line at a time, as a person would: each
line returns what it printed, so the next can click the buttons it showed."""

from __future__ import annotations

import asyncio
import io
import queue
import re
import threading

from bot.deps import Deps
from handlers.console import run_console

WAIT_SECONDS = 60.0


class ConsoleDriver:
    """A console (`run_console`) whose input is typed by the test, line by line."""

    def __init__(self, deps: Deps, user: str) -> None:
        self.output = io.StringIO()
        self._typed: queue.Queue[str | None] = queue.Queue()
        self._waiting: queue.Queue[bool] = queue.Queue()
        self._shown = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(deps, user), daemon=True)
        self._thread.start()
        self._next_prompt()
        self.transcript: list[str] = [self._new_output()]

    # The console reads its input from here (not a terminal: no prompts are printed).
    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        self._waiting.put(True)
        line = self._typed.get()
        return "" if line is None else line + "\n"

    def type(self, line: str) -> str:
        """Type `line`; what the console printed until it wanted the next line."""
        self._typed.put(line)
        self._next_prompt()
        printed = self._new_output()
        self.transcript.append(f">>> {line}\n{printed}")
        return printed

    def close(self) -> str:
        """End the input (Ctrl-D); what was printed meanwhile."""
        self._typed.put(None)
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive(), "the console did not stop at the end of input"
        if self._failure is not None:
            raise self._failure
        return self._new_output()

    def _run(self, deps: Deps, user: str) -> None:
        try:
            asyncio.run(run_console(deps, input_stream=self, output=self.output, user_ref=user))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            self._failure = exc
            self._waiting.put(False)

    def _next_prompt(self) -> None:
        try:
            alive = self._waiting.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError("the console did not ask for the next line") from None
        if not alive:
            assert self._failure is not None
            raise self._failure

    def _new_output(self) -> str:
        text = self.output.getvalue()
        new, self._shown = text[self._shown :], len(text)
        return new


def button_number(printed: str, label: str, nth: int = 1) -> str:
    """The number to type to click the `nth` button labelled `label` (a ✓ mark aside)."""
    found = re.findall(rf"\[(\d+)\] (?:✓ )?{re.escape(label)}(?=  |\n|$)", printed)
    assert len(found) >= nth, f"no button {label!r} (#{nth}) in:\n{printed}"
    return str(found[nth - 1])

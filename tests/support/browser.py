"""The browser walk of the admin page: :class:`NodeWalk` runs a Node script (tests/e2e/browser/admin_page.mjs) that
reports one JSON line per step and may wait for the test's answer; and the gateway the walk signs in to."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

BROWSER_DIR = Path(__file__).resolve().parents[1] / "e2e" / "browser"


MASTER = "gw-browser-master"


MODELS = ("openai.gpt-oss-120b", "xai.grok-4", "meta.llama-3.3-70b-instruct")


Step = dict[str, Any]


class NodeWalk:
    """Runs ``node script config`` and collects its steps: each JSON line on stdout is a step; a step with
    ``"await": true`` gets the answer of ``answers[step]`` (a JSON object) on stdin before the script goes on.

    ``steps`` maps a step's name to what it reported; ``error`` holds why the walk stopped early, if it did."""

    def __init__(self, node: str, script: Path, config: dict[str, Any]) -> None:
        self._process = subprocess.Popen(
            [node, str(script), json.dumps(config)],
            cwd=script.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self._process.stdout is not None and self._process.stderr is not None
        threading.Thread(target=self._pump, args=(self._process.stdout, self._lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self._process.stderr, self._stderr.append), daemon=True).start()
        self.steps: dict[str, Step] = {}
        self.error: str | None = None

    @staticmethod
    def _pump(stream: IO[str], sink: Callable[[Any], None]) -> None:
        for line in stream:
            sink(line)
        sink(None)

    def run(self, answers: dict[str, Callable[[Step], dict[str, Any]]], *, timeout: float = 240) -> NodeWalk:
        deadline = time.monotonic() + timeout
        try:
            self._collect(answers, deadline)
        finally:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=30)
        return self

    def _collect(self, answers: dict[str, Callable[[Step], dict[str, Any]]], deadline: float) -> None:
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.error = f"the walk took longer than its time limit; last step: {list(self.steps)[-1:]}"
                return
            if line is None:
                if "done" not in self.steps and self.error is None:
                    self.error = f"the script ended without finishing; stderr:\n{''.join(self._stderr[-50:])}"
                return
            if not line.startswith("{"):
                continue  # something Node itself printed
            step: Step = json.loads(line)
            name = step.pop("step")
            self.steps[name] = step
            if name == "error":
                self.error = (
                    f"the page did not do what step '{step.get('phase')}' waited for (screenshot: "
                    f"artifacts/failure.png):\n{step.get('message')}\nbrowser console errors: "
                    f"{step.get('consoleErrors')}\nscript errors: {step.get('pageErrors')}"
                )
            if step.pop("await", False):
                answer = answers[name](step) if name in answers else {}
                assert self._process.stdin is not None
                self._process.stdin.write(json.dumps(answer) + "\n")
                self._process.stdin.flush()

    def step(self, name: str) -> Step:
        """What the step reported; fails the test with the walk's error when the walk stopped before it."""
        if name not in self.steps:
            pytest.fail(f"The browser walk did not reach step '{name}': {self.error or 'no error reported'}")
        return self.steps[name]

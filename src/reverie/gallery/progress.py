"""One progress display over a gallery run, whether its sections run in turn or side by
side: done and total are in expected seconds, each section moving its own share of the bar
as it reports its own done/total, never backwards (a section that reports several loops
from 0 stays where it got to); the log gets a line as each section starts and ends."""
from __future__ import annotations

from typing import Callable

from reverie.core.progress import Progress


def took(label: str, built) -> str:
    """The log line for a finished section (its Built)."""
    return (f"gallery: {label} took {built.seconds:.1f} s"
            + (f" (FAILED: {built.error})" if built.error else ""))


class RunProgress:
    def __init__(self, progress: Progress, expected: dict[str, float], labels: dict[str, str],
                 log: Callable[[str], None] | None) -> None:
        self.progress, self.expected, self.labels, self.log = progress, expected, labels, log
        self.total = sum(expected.values())
        self.share = {n: 0.0 for n in expected}
        self.started: set[str] = set()

    def start(self, name: str) -> None:
        if name not in self.started:
            self.started.add(name)
            if self.log:
                self.log(f"gallery: {self.labels[name]} ...")

    def update(self, name: str, done: float = 0, count: float = 0, message: str = "") -> None:
        self.start(name)
        if count:
            self.share[name] = max(self.share[name], min(max(done / count, 0.0), 1.0))
        label = self.labels[name]
        self.progress(sum(self.expected[n] * s for n, s in self.share.items()), self.total,
                      f"{label}: {message}" if message else label)

    def section(self, name: str) -> Progress:
        """The callback a section reports its own progress to."""
        return lambda done, count, message="": self.update(name, done, count, message)

    def finish(self, name: str, built) -> None:
        self.start(name)
        self.share[name] = 1.0
        self.update(name)
        if self.log:
            self.log(took(self.labels[name], built))

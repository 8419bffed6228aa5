"""How a refresh tells people what it is doing: stage lines, a progress bar, per-file lines that matter.

``Reporter`` is the quiet base (tests, libraries); the command line uses ``ConsoleReporter``: a rich progress bar
with count, rate and ETA while files are read (only on a terminal), stage lines unless ``--quiet``, and a line per
file only for files that failed, were quarantined or had no table (every file with ``-v``).
"""

from __future__ import annotations

from rich.markup import escape


class Reporter:
    """Receives a refresh's progress; the base class ignores it."""

    def stage(self, name: str, message: str) -> None:
        """A stage starts or reports (fetch, read, build, gate, publish)."""

    def start(self, name: str, total: int) -> None:
        """A counted step begins (reading N files)."""

    def advance(self, line: str | None = None, important: bool = False) -> None:
        """One item of the counted step is done; ``line`` describes it (shown when important or verbose)."""

    def finish(self) -> None:
        """The counted step ends."""


class Collecting(Reporter):
    """Keep every message (tests read them)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def stage(self, name: str, message: str) -> None:
        self.lines.append(f"{name}: {message}")

    def advance(self, line: str | None = None, important: bool = False) -> None:
        if line:
            self.lines.append(line)


class ConsoleReporter(Reporter):
    """Print to a rich console: a progress bar on a terminal, stage lines unless quiet, per-file lines that matter."""

    def __init__(self, console, *, quiet: bool = False, verbose: bool = False):
        self.console, self.quiet, self.verbose = console, quiet, verbose
        self._progress = None
        self._task = None

    def stage(self, name: str, message: str) -> None:
        if not self.quiet:
            self._print(f"[bold cyan]{name:>9}[/] {escape(message)}")

    def _print(self, text: str) -> None:
        (self._progress.console if self._progress is not None else self.console).print(text)

    def start(self, name: str, total: int) -> None:
        if self.quiet or total == 0 or not self.console.is_terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn(f"[bold cyan]{name:>9}[/]"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=self.console,
                                  transient=True)
        self._progress.start()
        self._task = self._progress.add_task(name, total=total, rate="")

    def advance(self, line: str | None = None, important: bool = False) -> None:
        if line and not self.quiet and (important or self.verbose):
            self._print(escape(line))
        if self._progress is not None:
            task = self._progress.tasks[0]
            elapsed = task.elapsed or 0.0
            rate = f"{(task.completed + 1) / elapsed:.1f} files/s" if elapsed > 0 else ""
            self._progress.update(self._task, advance=1, rate=rate)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

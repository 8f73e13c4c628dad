"""The one exception family of convcost. Only the CLI turns these into exit codes."""

from __future__ import annotations

from convcost.exit_codes import ExitCode


class ConvcostError(Exception):
    """Bad input of any kind: the CLI prints ``str(err)`` on one line and exits 2."""

    exit_code: int = ExitCode.BAD_INPUT


class SpecError(ConvcostError):
    """An error in a spec file, located by file, line and field path."""

    def __init__(
        self, message: str, *, path: str = "", file: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            file = self.file if len(self.file) <= 200 else f"{self.file[:100]}...{self.file[-97:]}"
            where = f"{file}:{self.line}: " if self.line else f"{file}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}".replace("\n", "\\n")

    def at(self, file: str | None, line: int | None) -> SpecError:
        """The same error, placed in ``file`` at ``line`` (kept if already known)."""
        return SpecError(
            self.message,
            path=self.path,
            file=self.file or file,
            line=self.line or line,
        )


class MissingDependencyError(ConvcostError):
    """torch / fvcore (or another optional extra) is not installed."""


class CheckFailed(ConvcostError):
    """A budget was exceeded or a cross-check found a mismatch: exit 1."""

    exit_code = ExitCode.FAILED


class ShapeError(ConvcostError):
    """A layer cannot be applied to its input shape (kernel too large, groups, ...)."""

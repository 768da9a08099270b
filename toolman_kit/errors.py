"""One exception type per failure kind, each carrying where it happened, so the CLI can say it
in one line."""

from __future__ import annotations


class ToolmanKitError(Exception):
    """Base of every error the kit raises on purpose (anything else is a bug)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return f"{where}: {self.message}" if where else self.message


class ManifestError(ToolmanKitError):
    """Input that is not (valid) Kubernetes manifests."""


class RenderError(ToolmanKitError):
    """A chart that cannot be rendered, or no Helm backend to render it with."""


class ProfileError(ToolmanKitError):
    """A profile file that is missing or malformed."""


class ReportError(ToolmanKitError):
    """A notebook or export step that failed while building a report."""


class FleetError(ToolmanKitError):
    """A fleet file that is missing or malformed, or a batch that cannot start."""

"""One exception type per failure kind, each carrying where it happened, so the CLI can say it
in one line."""

from __future__ import annotations


class ToolmanKitError(Exception):
    """Base of every error the kit raises on purpose (anything else is a bug).

    Attributes:
        message: what is wrong, in one line.
        file, line, column: where, when known (`str(error)` starts with `file:line:column:`).

    Example:
        >>> try:
        ...     tk.analyze("no/such/file.yaml")
        ... except tk.ToolmanKitError as error:
        ...     print(error)
        no/such/file.yaml: no such file or directory
    """

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
    """Input that cannot be read or holds no Kubernetes object.

    Example:
        >>> tk.analyze("README.md")
        Traceback (most recent call last):
        ...
        toolman_kit.errors.ManifestError: README.md:...: invalid YAML: ...
    """


class RenderError(ToolmanKitError):
    """A chart that cannot be rendered, or no Helm backend to render it with.

    Example:
        >>> tk.render("examples/toolman")
        Traceback (most recent call last):
        ...
        toolman_kit.errors.RenderError: examples/toolman: not a Helm chart directory (no Chart.yaml)
    """


class FetchError(RenderError):
    """A chart that cannot be had: a download refused or failing, a digest that does not match,
    an unsafe or broken archive, or something --offline would have to fetch (the message says
    the command that fetches it). Never names a credential."""


class ProfileError(ToolmanKitError):
    """A profile file that is missing or malformed.

    Example:
        >>> tk.load_profile("staging")
        Traceback (most recent call last):
        ...
        toolman_kit.errors.ProfileError: staging: no such profile (built in: production)
    """


class PolicyError(ToolmanKitError):
    """An admission policy that cannot be loaded: a document of another kind in a policy file,
    or an expression that does not compile (file, line and column named); the other policies
    are still evaluated."""


class ReportError(ToolmanKitError):
    """A notebook or export step that failed while building a report (`toolman-kit report`);
    the message names the notebook and the failing cell, and the previous report is kept."""


class FleetError(ToolmanKitError):
    """A fleet file that is missing or malformed, or a batch that cannot start
    (`toolman-kit batch`)."""


class ToolmanKitWarning(UserWarning):
    """An input problem reported instead of raised (`errors="warn"`), or a suspect input that was
    still analyzed, such as an object defined twice.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     df = tk.analyze("examples/toolman/rendered/default.yaml", "README.md",
        ...                     errors="warn")
        >>> print(caught[0].message)
        README.md:...: invalid YAML: ...
    """


class ConfigError(ToolmanKitError):
    """A `.toolman-kit.yaml` that cannot be read or does not validate (toolman_kit/config.py)."""

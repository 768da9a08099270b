"""`toolman-kit report` as a Python API: notebooks executed with papermill, exported to offline
HTML, written atomically (api: build_report; kernels: the kernel pool; export: HTML; files: the
data files; outdir: where a report goes and the only files it may replace there)."""

from toolman_kit.present.report.api import EXAMPLE, Report, Result, build_report, notebooks
from toolman_kit.present.report.kernels import ROOT, Kernels, execute

__all__ = ["EXAMPLE", "ROOT", "Kernels", "Report", "Result", "build_report", "execute",
           "notebooks"]

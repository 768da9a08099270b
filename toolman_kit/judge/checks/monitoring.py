"""Monitoring: someone scrapes the service's metrics."""

from __future__ import annotations

from toolman_kit.judge.profiles import Profile
from toolman_kit.judge.registry import Area, Outcome, Severity, Violation, check
from toolman_kit.read.index import Index
from toolman_kit.read.model import REPLICATED, Workload


@check(id="monitoring-missing", area=Area.MONITORING, severity=Severity.WARNING,
       kinds=(*REPLICATED, "DaemonSet"), title="No metrics scraping configured",
       remediation="Enable a ServiceMonitor (or PodMonitor) that selects the workload.")
def monitoring_missing(w: Workload, idx: Index, profile: Profile) -> Outcome:
    """Neither a ServiceMonitor/PodMonitor selecting the workload nor prometheus.io/scrape
    annotations: its failures will be seen by users before they are seen on a dashboard."""
    if not idx.monitors.get(w) and not idx.scraped(w):
        yield Violation("no ServiceMonitor or PodMonitor selects it and it has no scrape "
                        "annotations", remediation="Enable ServiceMonitor.")

"""Table cells shared by the progress lines and the report's tables."""

from __future__ import annotations

from harness.wrk import WrkRun


def fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def cpu_row(label: str, runs: dict[str, WrkRun], prefix: str = "") -> str:
    """Proxy / emulator / others, % of one core, for the loads ``<prefix>latency``, ``nonstream``, ``stream``."""
    cells = []
    for key in ("latency", "nonstream", "stream"):
        run = runs.get(prefix + key)
        if run is None:
            cells.append("n/a")
        else:
            proxy = "-" if run.proxy_cpu_pct is None else fmt(run.proxy_cpu_pct, 0)
            cells.append(f"{proxy} / {fmt(run.upstream_cpu_pct, 0)} / {fmt(run.other_cpu_pct, 0)}")
    return f"| {label} | " + " | ".join(cells) + " |"

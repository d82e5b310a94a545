"""One worker's metrics copied into prometheus_client's multiprocess files, so that any worker of
``ocigate serve --workers N`` can answer ``/metrics`` for the whole server.

prometheus_client's own multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before it is imported) keeps every
value in a memory-mapped file and writes it there on each increment, under a lock: about 10 µs more CPU per
request than values in memory (bench: ``workers_cost.py``). Here a worker counts in memory exactly as a single
process does, and :meth:`MetricFiles.write` copies its values into its own files (``counter_<pid>.db``,
``histogram_<pid>.db``, ``gauge_<mode>_<pid>.db``, the same format and keys) every ``SYNC_S``, before it answers
``/metrics`` and when it stops. prometheus_client's ``MultiProcessCollector`` then reads and sums every worker's
files as it does its own: a scrape sees its own worker's requests at once and the others' within ``SYNC_S``.

Usage::

    files = MetricFiles(registry, directory, {"ocigate_circuit_state": "livemax"})
    files.write()       # periodically, before rendering, at shutdown
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.mmap_dict import MmapedDict, mmap_key

SYNC_S = 1.0


class MetricFiles:
    def __init__(
        self, registry: CollectorRegistry, directory: str, gauge_modes: Mapping[str, str], pid: int | None = None
    ) -> None:
        """``gauge_modes``: each gauge's multiprocess mode (``all``, ``livemax``…; ``all`` when not named)."""
        self._registry = registry
        self._directory = directory
        self._modes = gauge_modes
        self._pid = os.getpid() if pid is None else pid
        self._files: dict[str, MmapedDict] = {}
        self._keys: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}

    def _file(self, prefix: str) -> MmapedDict:
        found = self._files.get(prefix)
        if found is None:
            path = os.path.join(self._directory, f"{prefix}_{self._pid}.db")
            found = self._files[prefix] = MmapedDict(path)  # type: ignore[no-untyped-call]
        return found

    def _key(self, family: str, sample: str, labels: Mapping[str, str], help_text: str) -> str:
        identity = (family, sample, tuple(labels.items()))
        key = self._keys.get(identity)
        if key is None:
            key = self._keys[identity] = mmap_key(family, sample, list(labels), list(labels.values()), help_text)
        return key

    def write(self) -> None:
        """Copies every value of the registry into this worker's files."""
        for family in self._registry.collect():
            if family.type == "counter":
                prefix = "counter"
            elif family.type == "gauge":
                prefix = f"gauge_{self._modes.get(family.name, 'all')}"
            elif family.type == "histogram":
                prefix = "histogram"
            else:
                continue
            target = self._file(prefix)
            below: dict[tuple[tuple[str, str], ...], float] = {}
            for sample in family.samples:
                name, value = sample.name, sample.value
                if name.endswith("_created"):
                    continue
                if family.type == "histogram":
                    if name.endswith("_bucket"):
                        # The files hold each bucket's own count; the collector adds them up again.
                        child = tuple((k, v) for k, v in sample.labels.items() if k != "le")
                        value, below[child] = value - below.get(child, 0.0), value
                    elif not name.endswith("_sum"):
                        continue  # _count: the collector counts the buckets
                key = self._key(family.name, name, sample.labels, family.documentation)
                target.write_value(key, value, 0.0)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        for mapped in self._files.values():
            mapped.close()  # type: ignore[no-untyped-call]
        self._files.clear()

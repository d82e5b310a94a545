"""Several workers' metrics summed on /metrics: each worker copies its in-memory values into prometheus_client's
multiprocess files, and any worker's render reads them all."""

from __future__ import annotations

from pathlib import Path

from ocigate.observe.metrics import GAUGE_MODES, Metrics
from ocigate.observe.shared import MetricFiles


def _worker(folder: Path, pid: int) -> Metrics:
    metrics = Metrics(["m"], ["d"], multiprocess_dir=str(folder))
    metrics._files = MetricFiles(metrics.registry, str(folder), GAUGE_MODES, pid=pid)  # a second process's files
    return metrics


def _value(text: str, line_start: str) -> float:
    found = [line for line in text.splitlines() if line.startswith(line_start)]
    assert len(found) == 1, (line_start, found)
    return float(found[0].rsplit(" ", 1)[1])


def test_any_worker_renders_the_sum_of_every_workers_values(tmp_path: Path) -> None:
    first, second = _worker(tmp_path, 101), _worker(tmp_path, 202)
    for _ in range(3):
        first.on_result("m", "d", 200, 0.07)
        first.on_answered()
    second.on_result("m", "d", 200, 3.0)
    second.on_result("m", "d", 503, 0.2)
    second.on_answered()
    second.on_tokens("m", {"prompt": 5, "completion": 7})
    first.on_circuit("d", "open")
    second.sync()
    text = first.render()[0].decode()
    assert _value(text, 'ocigate_requests_total{deployment="d",model="m",status_class="2xx"}') == 4
    assert _value(text, 'ocigate_requests_total{deployment="d",model="m",status_class="5xx"}') == 1
    assert _value(text, 'ocigate_request_duration_seconds_count{deployment="d",model="m"}') == 5
    assert _value(text, 'ocigate_request_duration_seconds_bucket{deployment="d",le="0.1",model="m"}') == 3
    assert _value(text, 'ocigate_request_duration_seconds_bucket{deployment="d",le="5.0",model="m"}') == 5
    assert abs(_value(text, 'ocigate_request_duration_seconds_sum{deployment="d",model="m"}') - 3.41) < 1e-9
    assert _value(text, 'ocigate_tokens_total{model="m",type="completion"}') == 7
    assert _value(text, 'ocigate_worker_requests{pid="101"}') == 3
    assert _value(text, 'ocigate_worker_requests{pid="202"}') == 1
    assert _value(text, 'ocigate_circuit_state{deployment="d"}') == 2  # the most open circuit of the workers


def test_a_copy_overwrites_rather_than_adds(tmp_path: Path) -> None:
    metrics = _worker(tmp_path, 303)
    metrics.on_result("m", "d", 200, 0.1)
    for _ in range(3):
        metrics.sync()
    text = metrics.render()[0].decode()
    assert _value(text, 'ocigate_requests_total{deployment="d",model="m",status_class="2xx"}') == 1


def test_one_process_keeps_its_values_in_memory_only(tmp_path: Path) -> None:
    metrics = Metrics(["m"], ["d"])
    metrics.on_result("m", "d", 200, 0.1)
    metrics.on_answered()
    metrics.sync()
    text = metrics.render()[0].decode()
    assert "ocigate_worker_requests" not in text
    assert list(tmp_path.iterdir()) == []

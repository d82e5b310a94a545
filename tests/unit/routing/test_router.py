"""Routing: priority groups, the four strategies, open circuits, pinning, and the checks on a route table."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ocigate.config.policies import Timeouts
from ocigate.routing.router import Deployment, ModelRoute, Router
from tests.support.fakes import FakeProvider, deployment


class Closed:
    """An admission that refuses the names it is given."""

    def __init__(self, *open_names: str) -> None:
        self.open = set(open_names)

    def admits(self, name: str) -> bool:
        return name not in self.open


def deployments(*specs: tuple[str, float, int]) -> tuple[Deployment, ...]:
    return tuple(deployment(FakeProvider(name), weight=weight, priority=priority) for name, weight, priority in specs)


def names(order: list[Deployment]) -> list[str]:
    return [d.provider.name for d in order]


def test_weighted_random_follows_the_weights() -> None:
    route = ModelRoute("gpt", deployments(("a", 3, 0), ("b", 1, 0), ("c", 0, 0)))
    router = Router([route], rng=random.Random(42))
    firsts: Counter[str] = Counter()
    for _ in range(20_000):
        order = names(router.order(route))
        assert sorted(order) == ["a", "b", "c"] and order[-1] == "c"  # weight 0: a standby, always last
        firsts[order[0]] += 1
    assert firsts["a"] / 20_000 == pytest.approx(0.75, abs=0.015)
    assert firsts["b"] / 20_000 == pytest.approx(0.25, abs=0.015)


def test_weighted_random_with_three_weights() -> None:
    route = ModelRoute("gpt", deployments(("a", 5, 0), ("b", 3, 0), ("c", 2, 0)))
    router = Router([route], rng=random.Random(3))
    firsts = Counter(names(router.order(route))[0] for _ in range(20_000))
    for name, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert firsts[name] / 20_000 == pytest.approx(share, abs=0.015)


def test_round_robin_rotates() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0), ("c", 1, 0)), "round_robin")
    router = Router([route])
    orders = [names(router.order(route)) for _ in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]


def test_least_in_flight_first() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0), ("c", 1, 0)), "least_in_flight")
    a, b, c = route.deployments
    router = Router([route], rng=random.Random(1))
    router.started(a)
    router.started(a)
    router.started(b)
    assert names(router.order(route)) == ["c", "b", "a"]
    router.finished(a)
    router.finished(a)
    router.finished(a)  # never below zero
    assert router.stats("a/m").in_flight == 0
    assert names(router.order(route))[-1] == "b"


def test_least_in_flight_spreads_idle_traffic_by_weight() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0)), "least_in_flight")
    router = Router([route], rng=random.Random(5))
    firsts = Counter(names(router.order(route))[0] for _ in range(2_000))
    assert firsts["a"] / 2_000 == pytest.approx(0.5, abs=0.05)


def test_lowest_latency_first_with_a_tolerance() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0), ("c", 1, 0)), "lowest_latency")
    a, b, c = route.deployments
    router = Router([route], rng=random.Random(1), explore=0.0)
    assert names(router.order(route))  # nothing measured yet: any order
    router.observe(a, 1.0, stream=False)
    router.observe(b, 0.2, stream=False)
    router.observe(c, 0.5, stream=False)
    assert names(router.order(route)) == ["b", "c", "a"]
    router.observe(c, 0.2, stream=False)  # EWMA: 0.3 * 0.2 + 0.7 * 0.5 = 0.41
    assert router.stats("c/m").latency_s == pytest.approx(0.41)
    for _ in range(3):
        router.observe(c, 0.1, stream=False)  # 0.317, 0.252, 0.206: within 10 % of b's 0.2, so equal to it
    firsts = Counter(names(router.order(route))[0] for _ in range(1_000))
    assert set(firsts) == {"b", "c"} and min(firsts.values()) > 400


def test_lowest_latency_measures_streams_apart_and_tries_the_unmeasured() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0)), "lowest_latency")
    a, b = route.deployments
    router = Router([route], explore=0.0)
    router.observe(a, 0.1, stream=True)
    router.observe(b, 0.5, stream=True)
    router.observe(a, 9.0, stream=False)
    assert names(router.order(route, stream=True)) == ["a", "b"]
    assert names(router.order(route, stream=False)) == ["b", "a"]  # b never measured without streaming


def test_lowest_latency_explores() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0)), "lowest_latency")
    a, b = route.deployments
    router = Router([route], rng=random.Random(2), explore=0.2)
    router.observe(a, 0.1, stream=False)
    router.observe(b, 5.0, stream=False)
    firsts = Counter(names(router.order(route))[0] for _ in range(5_000))
    assert firsts["b"] / 5_000 == pytest.approx(0.1, abs=0.02)  # explore 20 %, half of which picks b


def test_priority_groups_come_in_order_with_the_strategy_inside() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 1), ("b", 1, 0), ("c", 1, 2), ("d", 1, 0)), "round_robin")
    router = Router([route])
    assert names(router.order(route)) == ["b", "d", "a", "c"]
    assert names(router.order(route)) == ["d", "b", "a", "c"]


def test_open_circuits_are_left_out() -> None:
    route = ModelRoute("gpt", deployments(("a", 1, 0), ("b", 1, 0), ("c", 1, 1)))
    router = Router([route])
    assert names(router.order(route, Closed("a/m", "c/m"))) == ["b"]
    assert router.order(route, Closed("a/m", "b/m", "c/m")) == []


def test_pinning_by_name_or_provider_and_model() -> None:
    iad = FakeProvider("oracle-iad")
    pinned = Deployment("iad-gpt", iad, "openai.gpt-oss-120b")
    route = ModelRoute("gpt", (deployment(FakeProvider("oracle-ord")), pinned))
    router = Router([route])
    assert router.resolve("gpt") == (route, None)
    assert router.resolve("oracle-iad/openai.gpt-oss-120b") == (route, "iad-gpt")
    assert router.resolve("iad-gpt") == (route, "iad-gpt")
    assert router.resolve("nope") is None
    assert router.order(route, pin="iad-gpt") == [pinned]
    assert router.order(route, pin="oracle-iad/openai.gpt-oss-120b") == [pinned]
    assert router.order(route, Closed("iad-gpt"), pin="iad-gpt") == []
    assert router.route("gpt") is route and router.route("nope") is None


def test_a_deployment_takes_its_providers_region_and_default_timeouts() -> None:
    d = deployment(FakeProvider("p", region="us-ashburn-1"))
    assert d.region == "us-ashburn-1" and d.key == "p/m" and d.timeouts == Timeouts()
    assert deployment(FakeProvider("p"), region="eu-frankfurt-1").region == "eu-frankfurt-1"


def test_snapshot() -> None:
    route = ModelRoute(
        "gpt",
        deployments(
            ("a", 1, 0),
        ),
    )
    router = Router([route, ModelRoute("also", route.deployments)])
    router.started(route.deployments[0])
    router.observe(route.deployments[0], 0.25, stream=True)
    assert router.snapshot() == [
        {
            "deployment": "a/m",
            "models": ["gpt", "also"],
            "provider": "a",
            "upstream_model": "m",
            "region": "us-chicago-1",
            "in_flight": 1,
            "latency_ms": None,
            "open_ms": 250.0,
        }
    ]


def test_bad_routes_are_refused() -> None:
    a = deployment(FakeProvider("a"))
    with pytest.raises(ValueError, match="strategy 'fastest' is unknown"):
        ModelRoute("gpt", (a,), "fastest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no deployment"):
        ModelRoute("gpt", ())
    with pytest.raises(ValueError, match="twice"):
        ModelRoute("gpt", (a, a))
    with pytest.raises(ValueError, match="falls back to itself"):
        ModelRoute("gpt", (a,), fallbacks=("gpt",))
    with pytest.raises(ValueError, match="unknown models"):
        Router([ModelRoute("gpt", (a,), fallbacks=("llama",))])
    with pytest.raises(ValueError, match="routed twice"):
        Router([ModelRoute("gpt", (a,)), ModelRoute("gpt", (a,))])
    with pytest.raises(ValueError, match="two different deployments"):
        Router([ModelRoute("gpt", (a,)), ModelRoute("other", (deployment(FakeProvider("a"), weight=2),))])
    with pytest.raises(ValueError, match="weight"):
        deployment(FakeProvider("a"), weight=-1)
    with pytest.raises(ValueError, match="positive"):
        Timeouts(first_byte_s=0)


def test_routes_accept_lists() -> None:
    a = deployment(FakeProvider("a"))
    route = ModelRoute("gpt", [a], fallbacks=["x"])  # type: ignore[arg-type]
    assert route.deployments == (a,) and route.fallbacks == ("x",)

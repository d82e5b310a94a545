"""Which upstream deployments serve a public model name, and in which order to try them.

A :class:`ModelRoute` maps one public model name (``gpt-oss``) to one or more :class:`Deployment` s: a provider
(any region, either API), the model name upstream, a weight and a priority. :meth:`Router.order` gives the attempt
order for one request: priority groups first (lower number first; a higher group is only a standby), the route's
strategy within a group, and deployments whose circuit is open left out (half-open ones stay in, for a probe):

- ``weighted_random``: a random permutation, each place drawn in proportion to the weights; weight 0 is a standby
  that is tried only after the others of its group;
- ``round_robin``: the group rotated by one on every request;
- ``least_in_flight``: fewest requests in flight first (ties broken by weight at random, so idle traffic spreads);
- ``lowest_latency``: lowest EWMA of observed latency first, with deployments within ``latency_tolerance`` of the
  best counted as equal and, with probability ``explore``, the weighted order instead, so that a deployment that
  was slow once gets measured again. Streams and whole replies are measured apart (time to open vs. duration).

The router holds the only mutable state (in-flight counts, latencies, round-robin positions), per router instance;
its random source is injectable. Nothing here does I/O.

Usage::

    iad = Deployment("oracle-iad/openai.gpt-oss-120b", iad_provider, "openai.gpt-oss-120b", weight=2)
    ord_ = Deployment("oracle-ord/openai.gpt-oss-120b", ord_provider, "openai.gpt-oss-120b", priority=1)
    router = Router([ModelRoute("gpt-oss", (iad, ord_), "least_in_flight", fallbacks=("llama",)), llama_route])
    resolved = router.resolve("gpt-oss")              # or "oracle-ord/openai.gpt-oss-120b": pinned to that one
    for deployment in router.order(resolved.route, breakers, pin=resolved.pin):
        ...                                           # the Dispatcher does this, see dispatch.py
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from ocigate.config.policies import STRATEGIES, Strategy, Timeouts
from ocigate.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Deployment:
    """One upstream that can serve a public model: ``name`` is unique in the router (``provider/model`` by
    convention, which is also how a request pins it); ``region`` defaults to the provider's."""

    name: str
    provider: Provider
    upstream_model: str
    weight: float = 1.0
    priority: int = 0
    region: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"deployment '{self.name}': weight must be 0 or more, got {self.weight}")
        if self.region is None:
            object.__setattr__(self, "region", self.provider.region)

    @property
    def key(self) -> str:
        """``provider/model``: how a request can pin this deployment whatever its configured name."""
        return f"{self.provider.name}/{self.upstream_model}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """A public model name, its deployments, the strategy among them, and the public names of the models to fall
    back to (in order, not transitively) once every deployment of this one failed."""

    public_name: str
    deployments: tuple[Deployment, ...]
    strategy: Strategy = "weighted_random"
    fallbacks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "deployments", tuple(self.deployments))
        object.__setattr__(self, "fallbacks", tuple(self.fallbacks))
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"model '{self.public_name}': strategy '{self.strategy}' is unknown; use one of {STRATEGIES}"
            )
        if not self.deployments:
            raise ValueError(f"model '{self.public_name}' has no deployment")
        names = [d.name for d in self.deployments]
        if len(set(names)) != len(names):
            raise ValueError(f"model '{self.public_name}' lists a deployment twice: {names}")
        if self.public_name in self.fallbacks:
            raise ValueError(f"model '{self.public_name}' falls back to itself")


class Admission(Protocol):
    """What routing asks of the circuit breakers (``breaker.BreakerBoard``): may this deployment be tried now?"""

    def admits(self, name: str) -> bool: ...


class Resolved(NamedTuple):
    route: ModelRoute
    pin: str | None
    """The one deployment the request asked for (``provider/model``), or None for the route's whole order."""


@dataclass(slots=True)
class DeploymentStats:
    in_flight: int = 0
    latency_s: float | None = None
    """EWMA of whole non-streaming replies."""
    open_s: float | None = None
    """EWMA of the time for a stream to open."""


class Router:
    def __init__(
        self,
        routes: Iterable[ModelRoute] = (),
        *,
        rng: random.Random | None = None,
        alpha: float = 0.3,
        latency_tolerance: float = 0.1,
        explore: float = 0.05,
    ) -> None:
        self.routes: dict[str, ModelRoute] = {}
        self._pins: dict[str, Resolved] = {}
        self._deployments: dict[str, Deployment] = {}
        self._stats: dict[str, DeploymentStats] = {}
        self._turns: dict[tuple[str, int], int] = {}
        self._rng = rng or random.Random()
        self._alpha = alpha
        self._tolerance = latency_tolerance
        self._explore = explore
        for route in routes:
            self.add(route)
        for route in self.routes.values():
            missing = [name for name in route.fallbacks if name not in self.routes]
            if missing:
                raise ValueError(f"model '{route.public_name}' falls back to unknown models: {missing}")

    def add(self, route: ModelRoute) -> None:
        if route.public_name in self.routes:
            raise ValueError(f"model '{route.public_name}' is routed twice")
        for deployment in route.deployments:
            known = self._deployments.setdefault(deployment.name, deployment)
            if known != deployment:
                raise ValueError(f"two different deployments are named '{deployment.name}'")
        self.routes[route.public_name] = route
        for deployment in route.deployments:
            for name in (deployment.name, deployment.key):
                self._pins.setdefault(name, Resolved(route, deployment.name))

    def route(self, name: str) -> ModelRoute | None:
        return self.routes.get(name)

    def resolve(self, model: str) -> Resolved | None:
        """A public name gives its route; a deployment's name or ``provider/model`` pins that deployment (within
        the first route that lists it). None for a name the router does not know."""
        route = self.routes.get(model)
        if route is not None:
            return Resolved(route, None)
        return self._pins.get(model)

    def stats(self, name: str) -> DeploymentStats:
        found = self._stats.get(name)
        if found is None:
            found = self._stats[name] = DeploymentStats()
        return found

    def started(self, deployment: Deployment) -> None:
        self.stats(deployment.name).in_flight += 1

    def finished(self, deployment: Deployment) -> None:
        stats = self.stats(deployment.name)
        stats.in_flight = max(0, stats.in_flight - 1)

    def observe(self, deployment: Deployment, seconds: float, *, stream: bool) -> None:
        """A successful attempt's latency: a stream's time to open, or a whole reply's duration."""
        stats = self.stats(deployment.name)
        old = stats.open_s if stream else stats.latency_s
        new = seconds if old is None else self._alpha * seconds + (1 - self._alpha) * old
        if stream:
            stats.open_s = new
        else:
            stats.latency_s = new

    def order(
        self, route: ModelRoute, breakers: Admission | None = None, *, pin: str | None = None, stream: bool = False
    ) -> list[Deployment]:
        """The deployments to try, in order; those whose circuit is open are left out."""
        candidates = list(route.deployments)
        if pin is not None:
            candidates = [d for d in candidates if pin in (d.name, d.key)]
        if breakers is not None:
            candidates = [d for d in candidates if breakers.admits(d.name)]
        if len(candidates) <= 1:
            return candidates
        priorities = sorted({d.priority for d in candidates})
        ordered: list[Deployment] = []
        for priority in priorities:
            group = [d for d in candidates if d.priority == priority]
            ordered += self._arrange(route, priority, group, stream) if len(group) > 1 else group
        return ordered

    def _arrange(self, route: ModelRoute, priority: int, group: list[Deployment], stream: bool) -> list[Deployment]:
        if route.strategy == "round_robin":
            turn = self._turns.get((route.public_name, priority), 0)
            self._turns[(route.public_name, priority)] = turn + 1
            start = turn % len(group)
            return group[start:] + group[:start]
        weighted = self._weighted(group)
        if route.strategy == "least_in_flight":
            return sorted(weighted, key=lambda d: self.stats(d.name).in_flight)
        if route.strategy == "lowest_latency":
            if self._rng.random() < self._explore:
                return weighted
            latency = {d.name: self._latency(d, stream) for d in weighted}
            near = min(latency.values()) * (1 + self._tolerance)
            return sorted(weighted, key=lambda d: 0.0 if latency[d.name] <= near else latency[d.name])
        return weighted

    def _latency(self, deployment: Deployment, stream: bool) -> float:
        stats = self.stats(deployment.name)
        seen = stats.open_s if stream else stats.latency_s
        return 0.0 if seen is None else seen  # never measured: try it, so that it gets measured

    def _weighted(self, group: Sequence[Deployment]) -> list[Deployment]:
        """A permutation drawn place by place in proportion to the weights; weight 0 goes last, in order."""
        pool = [d for d in group if d.weight > 0]
        ordered: list[Deployment] = []
        while len(pool) > 1:
            point = self._rng.random() * sum(d.weight for d in pool)
            index = 0
            while index < len(pool) - 1 and point >= pool[index].weight:
                point -= pool[index].weight
                index += 1
            ordered.append(pool.pop(index))
        return ordered + pool + [d for d in group if d.weight <= 0]

    def snapshot(self) -> list[dict[str, object]]:
        """Per deployment: its models, provider, region, requests in flight and latencies (for /readyz and admin)."""
        rows: list[dict[str, object]] = []
        for name, deployment in self._deployments.items():
            stats = self.stats(name)
            rows.append(
                {
                    "deployment": name,
                    "models": [r.public_name for r in self.routes.values() if deployment in r.deployments],
                    "provider": deployment.provider.name,
                    "upstream_model": deployment.upstream_model,
                    "region": deployment.region,
                    "in_flight": stats.in_flight,
                    "latency_ms": None if stats.latency_s is None else round(stats.latency_s * 1000, 1),
                    "open_ms": None if stats.open_s is None else round(stats.open_s * 1000, 1),
                }
            )
        return rows

"""``handler(ctx, data)``: the gateway as an OCI Function, for Oracle's Python FDK (``fdk`` on PyPI).

The FDK's runtime (``/python/bin/fdk /function/func.py handler``) listens on the Unix socket the Functions agent
names, builds an ``InvokeContext`` from each call's ``Fn-*`` headers and awaits this coroutine in its own event
loop. Behind API Gateway a call carries the client's request: ``ctx.Method()``, ``ctx.RequestURL()`` (the path
and query) and ``ctx.HTTPHeaders()`` (the client's headers, which API Gateway sent as ``Fn-Http-H-*``). The answer
goes back as an ``fdk.response.Response`` whose status and headers the FDK sends as ``Fn-Http-Status`` and
``Fn-Http-H-*``, which API Gateway returns to the client.

The first call of a container builds the application from the function's configuration (its environment:
``OCIGATE_*``, ``OCI_*``, the resource principal's ``OCI_RESOURCE_PRINCIPAL_*``) with ``create_app``, starts its
lifespan and waits for the first model discovery; the next calls reuse it. Every call then goes through the same
edge and pipeline as a served request (:mod:`ocigate.functions.bridge`), and its usage is written before the
answer is returned, since a container may be frozen or stopped at any time after. A function is reached through
API Gateway, so it requires ``OCIGATE_MASTER_KEY`` as ``serve`` does off loopback; a configuration problem is
answered to every call as an OpenAI-style error naming the fix. Only this package imports the FDK.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
from dataclasses import dataclass
from typing import Any

from ocigate.app.runtime import ConfigurationError, Gateway, create_app
from ocigate.config.functions import function_path_prefix
from ocigate.config.settings import load_settings
from ocigate.core.asgi import Headers
from ocigate.core.errors import GatewayError
from ocigate.core.logs import redact, setup_logging
from ocigate.functions.bridge import Answer, AsgiBridge, Invocation
from ocigate.functions.fdk_api import response as fdk_response

log = logging.getLogger("ocigate.functions")
NO_MASTER_KEY = (
    "The function has no OCIGATE_MASTER_KEY: API Gateway makes it reachable, so it refuses to serve without one. "
    "Set it in the function's configuration (fn config function <app> <function> OCIGATE_MASTER_KEY <key>), "
    "preferably from an OCI Vault secret."
)


@dataclass(slots=True)
class Container:
    """What one function container keeps between calls."""

    gateway: Gateway
    bridge: AsgiBridge

    async def answer(self, invocation: Invocation) -> Answer:
        answer = await self.bridge.call(invocation)
        runtime = self.gateway.runtime
        await runtime.governance.flush()  # usage and audit written before the container may be frozen
        runtime.access_log.flush()
        return answer


_container: Container | None = None
_failure: GatewayError | None = None
_starting = asyncio.Lock()


async def build(env: dict[str, str]) -> Container:
    """The application from the function's configuration, started and past its first discovery."""
    settings = load_settings(env)
    setup_logging(settings.log_level, settings.log_format)
    prefix, problems = function_path_prefix(env)
    if problems or settings.errors:
        raise ConfigurationError((*problems, *settings.errors))
    if not settings.master_key:
        raise ConfigurationError((NO_MASTER_KEY,))
    gateway = create_app(settings)
    bridge = AsgiBridge(gateway, path_prefix=prefix)
    await bridge.start()
    discovery = gateway.runtime.discovery
    if discovery is not None:  # the first call finds the models a resource principal may use
        try:
            await asyncio.wait_for(asyncio.shield(discovery), settings.discovery_timeout_s + 5)
        except TimeoutError:  # discovery bounds itself; serve what is known rather than fail the call
            log.warning("model discovery is taking long; serving the models known so far")
    return Container(gateway, bridge)


async def container() -> Container:
    """The container's application, built by its first call. A configuration that cannot work is kept and
    answered to every call; any other failure to start is answered, and the next call tries again."""
    global _container, _failure
    async with _starting:
        if _failure is not None:
            raise _failure
        if _container is None:
            try:
                _container = await build(dict(os.environ))
            except ConfigurationError as exc:
                log.error("the gateway cannot start as a function: %s", exc)
                _failure = GatewayError(
                    f"The gateway cannot start: {redact(str(exc))}", code="configuration_error", type="server_error"
                )
                raise _failure from None
            except Exception as exc:  # noqa: BLE001 - the call gets the reason as an OpenAI-style error
                log.exception("the gateway failed to start as a function; the next call tries again")
                raise GatewayError(
                    f"The gateway failed to start ({redact(repr(exc))}); the next request tries again.",
                    status=503,
                    code="starting_failed",
                    type="server_error",
                ) from None
        return _container


def invocation(ctx: Any, data: io.BytesIO | None) -> Invocation:
    """The client's request as the FDK's context carries it."""
    raw = ctx.HTTPHeaders() or {
        name: value for name, value in (ctx.Headers() or {}).items() if not name.lower().startswith("fn-")
    }
    headers: Headers = []
    for name, value in raw.items():  # the FDK decoded the bytes as UTF-8: encoding them so gives them back
        for one in value if isinstance(value, list) else [value]:
            headers.append((str(name).lower().encode("utf-8"), str(one).encode("utf-8")))
    body = data.getvalue() if data is not None else b""
    return Invocation(ctx.Method() or "POST", ctx.RequestURL() or "/", headers, body)


async def handler(ctx: Any, data: io.BytesIO | None = None) -> Any:
    """The FDK's entrypoint: one API Gateway request in, its answer out."""
    try:
        answer = await (await container()).answer(invocation(ctx, data))
    except GatewayError as err:
        return fdk_response.Response(
            ctx, response_data=err.to_json(), headers={"content-type": "application/json"}, status_code=err.status
        )
    return fdk_response.Response(
        ctx, response_data=bytes(answer.body), headers=answer.header_map(), status_code=answer.status
    )

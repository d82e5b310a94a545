"""What a request must look like before the gateway vouches for it: pure checks, data in, ``InvalidRequest`` out.

Layer: above ``core`` and ``catalog``, below ``translate``; imports only ``ocigate.core``. Every route parses its
body once with :func:`ocigate.schemas.json.parse_object` (a depth cap included) and checks its shape with the
route's ``check_*`` function before any upstream call, so a request that fails because of what it contains never
reaches dispatch and never counts toward a circuit breaker.

- ``json``: ``parse_object(body, *, max_depth=64)``;
- ``chat``: ``check_chat(payload)``; ``responses``: ``check_responses(payload)``;
- ``embeddings``: ``check_embeddings(payload)``, ``check_rerank(payload)``;
- ``admin``: ``check_key_fields(payload, *, partial)`` and the admin API's query parameters.

The rule for all of them (Postel): unknown extra fields pass, a known field with a wrong type or an impossible
value is refused with a 400 whose ``param`` names it as OpenAI does (``messages[2].content[0].type``).
"""

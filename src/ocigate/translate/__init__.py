"""Pure translation between request and response formats: data in, data out.

No I/O, no HTTP library, no logging: each function takes parsed JSON and returns JSON (or SSE event bytes), and
raises :class:`ocigate.core.errors.InvalidRequest` only for a client's mistake. Import from the modules:

- ``oci_*``: OpenAI Chat Completions and embeddings to and from Oracle's native API.
- ``responses_request``: a Responses API request as a Chat Completions request (``to_chat_request``).
- ``responses_output``: a Chat Completions answer as a Responses ``response`` (``from_chat_response``).
- ``responses_stream``: a Chat Completions stream as Responses events (``ResponsesStreamTranslator``).
- ``responses_items``: a request's input normalised for ``GET /v1/responses/{id}/input_items`` (``input_items``).
- ``sanitize``, ``sanitize_profile``, ``tool_turns``: Chat Completions requests made safe for Oracle's strict
  upstreams (``sanitize_chat_request``, ``SanitizeProfile``).
"""

"""Pure translation between request and response formats: data in, data out.

No I/O, no HTTP library, no logging: each function takes parsed JSON and returns JSON (or SSE event bytes), and
raises :class:`ocigate.core.errors.InvalidRequest` only for a client's mistake. Import from the modules:

- ``oracle/``: OpenAI Chat Completions and embeddings to and from Oracle's native API (chat in the GENERIC, COHERE
  and COHEREV2 formats, its stream, embedText and rerankText, schemas and serving modes).
- ``responses/``: the Responses API over Chat Completions: ``request.to_chat_request``,
  ``output.from_chat_response``, ``stream.ResponsesStreamTranslator`` and ``items.input_items``.
- ``sanitize/``: Chat Completions requests made safe for Oracle's strict upstreams (``chat.sanitize_chat_request``,
  ``profile.SanitizeProfile``, ``tool_turns``).
"""

"""ocigate's benchmark harness: added latency, throughput, memory and start-up time against the bundled Oracle
emulator, run by ``bench/run.py``.

Modules, in the order a run uses them:

- ``layout``: where the files go, which core runs what, the progress log;
- ``processes``: spawning pinned children, ports, readiness;
- ``machine``: CPU accounting (the proxy's, the emulator's, the noise of everything else) and the machine's facts;
- ``targets``: what is measured (direct, bare, ocigate, ocigate-native, the governance and routing variants of
  ocigate, litellm);
- ``native``: the native path's identity (a user's signing key, its OCI config file, the gateway's YAML);
- ``routed``: the routed target's YAML (a route of two deployments) and the checks that it is in effect;
- ``workloads``: the request bodies and the checks an answer must pass before it may be counted;
- ``wrk``: the Lua script, running wrk, reading its figures and errors;
- ``loads``: one load with its CPU accounting and progress line;
- ``governance``: a governed target's virtual key, and its usage records checked against the requests served;
- ``measure``: one target end to end (sanity check, warm-up, loads, time to ready);
- ``responses``: the Responses-over-Chat loads of a gateway target;
- ``native_cost``: the native path's translation and signing, timed in-process (in a child process);
- ``dispatch_cost``: the dispatcher (routing, breakers, retries, attempt headers), timed in-process (in a child
  process) against a direct call of the same provider stub;
- ``profiles``: py-spy;
- ``report``, ``native_report``, ``responses_report``, ``governance_report`` and ``routing_report``: the tables,
  ratios, verdicts and RESULTS.md;
- ``cli``: the command line.
"""

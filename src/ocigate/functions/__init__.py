"""ocigate as an OCI Function behind OCI API Gateway: the FDK's entrypoint (``entry.handler``) and the bridge that
drives the gateway's ASGI application once per invocation (``bridge``). Installed with ``ocigate[functions]``;
``deploy/functions/`` holds what ``fn deploy`` builds. The only package that imports Oracle's FDK."""

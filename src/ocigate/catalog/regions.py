"""Oracle's Generative AI regions and the URLs built from them.

Facts from Oracle's region list and SDK region definitions (shared/docs/oracle-genai-api.md §1.1, §5.1).
"""

from __future__ import annotations

import re

# Region identifier -> second-level domain of its realm.
GENAI_REGIONS: dict[str, str] = {
    "sa-saopaulo-1": "oraclecloud.com",
    "eu-frankfurt-1": "oraclecloud.com",
    "ap-hyderabad-1": "oraclecloud.com",
    "ap-osaka-1": "oraclecloud.com",
    "me-riyadh-1": "oraclecloud.com",
    "me-dubai-1": "oraclecloud.com",
    "uk-london-1": "oraclecloud.com",
    "us-ashburn-1": "oraclecloud.com",
    "us-chicago-1": "oraclecloud.com",
    "us-phoenix-1": "oraclecloud.com",
    "me-abudhabi-1": "oraclecloud.com",
    "uk-gov-london-1": "oraclegovcloud.uk",
    "eu-frankfurt-2": "oraclecloud.eu",
    "eu-madrid-2": "oraclecloud.eu",
}

ACTIONS_PATH = "/20231130/actions/v1"
OPENAI_PATH = "/openai/v1"

_REGION_IN_HOST = re.compile(r"(?:^|\.)generativeai\.([a-z]+-[a-z]+(?:-[a-z]+)?-\d+)\.oci\.")
_REGION_SHAPE = re.compile(r"^[a-z]+-[a-z]+(?:-[a-z]+)?-\d+$")


def realm_domain(region: str) -> str:
    """The second-level domain of a region's realm; commercial (oc1) when the region is not in the table."""
    return GENAI_REGIONS.get(region, "oraclecloud.com")


def inference_host(region: str) -> str:
    return f"inference.generativeai.{region}.oci.{realm_domain(region)}"


def compat_base_url(region: str, path: str = ACTIONS_PATH) -> str:
    """Oracle's OpenAI-compatible base for a region: ``/20231130/actions/v1`` by default, or ``/openai/v1``."""
    return f"https://{inference_host(region)}{path}"


def native_base_url(region: str) -> str:
    """Oracle's native inference API for a region (``/20231130/actions/chat`` and so on follow)."""
    return f"https://{inference_host(region)}"


def management_base_url(region: str) -> str:
    """Oracle's Generative AI management API (ListModels) for a region."""
    return f"https://generativeai.{region}.oci.{realm_domain(region)}"


def region_from_url(url: str) -> str | None:
    """The region named in an Oracle Generative AI URL, or None for any other host (private endpoint, emulator)."""
    match = _REGION_IN_HOST.search(url.split("://", 1)[-1].split("/", 1)[0])
    return match.group(1) if match else None


def looks_like_region(value: str) -> bool:
    return bool(_REGION_SHAPE.match(value))


def uses_openai_base(url: str) -> bool:
    return url.rstrip("/").endswith(OPENAI_PATH)


def uses_actions_base(url: str) -> bool:
    return url.rstrip("/").endswith(ACTIONS_PATH)

"""The IAM suite's emulator, principals and OCI config folder, for the end-to-end tests of IAM providers."""

from __future__ import annotations

from iam.conftest import iam_emulator, oci_dir, principals

__all__ = ["iam_emulator", "oci_dir", "principals"]

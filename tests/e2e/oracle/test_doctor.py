"""``ocigate doctor`` for IAM providers, run as a user runs it: the profile, the key's fingerprint, the region and a
signed ListModels call, with the policy statement when the compartment does not answer."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.iam import COMPARTMENT, OTHER_COMPARTMENT, Principals, oci_provider, write_config
from tests.support.servers import ServerThread


def doctor(config: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORACLE_", "OCIGATE_", "OCI_"))}
    env["OCIGATE_DATA_DIR"] = tempfile.mkdtemp(prefix="ocigate-doctor-")
    return subprocess.run(
        [sys.executable, "-m", "ocigate", "doctor", "--config", config],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_doctor_passes_a_good_profile(
    iam_emulator: ServerThread, oci_dir: Path, principals: Principals, tmp_path: Path
) -> None:
    provider = oci_provider(iam_emulator, oci_dir, profile="ENCRYPTED", models=["meta.llama-3.3-70b-instruct"])
    result = doctor(write_config(tmp_path, {"oci": provider}))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert f"OK: Provider 'oci': profile 'ENCRYPTED' of {oci_dir / 'config'} found." in out
    assert f"(fingerprint {principals.user.fingerprint})" in out
    assert "us-chicago-1 offers Generative AI" in out
    assert "answered a signed ListModels call" in out and "OK: provider 'oci' answered a chat request" in out


def test_doctor_explains_fingerprint_and_policy(
    iam_emulator: ServerThread, oci_dir: Path, principals: Principals, tmp_path: Path
) -> None:
    wrong = tmp_path / "config"
    text = (oci_dir / "config").read_text().replace(principals.user.fingerprint, "00:" * 15 + "00")
    wrong.write_text(text)
    providers = {
        "mismatch": {**oci_provider(iam_emulator, oci_dir, discovery=False), "config_file": str(wrong)},
        "elsewhere": oci_provider(iam_emulator, oci_dir, compartment_id=OTHER_COMPARTMENT, discovery=False),
    }
    result = doctor(write_config(tmp_path, providers))
    out = result.stdout
    assert result.returncode == 1
    assert f"is not that of key_file {oci_dir / 'user.pem'} ({principals.user.fingerprint})" in out
    assert "Oracle did not accept the request signature of provider 'mismatch'" in out
    assert f"allow group <group> to use generative-ai-family in compartment id {OTHER_COMPARTMENT}" in out
    assert COMPARTMENT not in out.replace(OTHER_COMPARTMENT, "")

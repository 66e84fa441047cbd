"""A real OpenID provider for the tests (tests/oidc_provider.mjs, panva's oidc-provider run with
Node), started on a free port with a signing key the test knows, so that integration tests can
also make tokens "from the provider" that are expired or meant for someone else."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import services
from tests.conftest import free_port

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "oidc_provider.mjs"
PACKAGE = HERE / "e2e" / "node_modules" / "oidc-provider"
CLIENT_ID = "competition-test"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"
# The provider's people: its login form accepts any of these ids with any password.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "new-person": {
        "email": "nora.new@example.org",
        "email_verified": True,
        "name": "Nora New",
        "groups": ["staff"],
    },
    "existing-person": {
        "email": "erik.existing@example.org",
        "email_verified": True,
        "name": "Erik Existing",
        "groups": ["bmbf-officers"],
    },
    "unverified-person": {
        "email": "una.unverified@example.org",
        "email_verified": False,
        "name": "Una Unverified",
        "groups": [],
    },
}


@dataclass
class RunningProvider:
    issuer: str
    signing_key: Any  # joserfc RSAKey, the provider's own private key
    process: subprocess.Popen[str]

    def setting(self, name: str = "testid", title: str = "Test ID"):  # type: ignore[no-untyped-def]
        from config import OidcProvider

        return OidcProvider(
            name=name,
            title=title,
            issuer=self.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scope="openid email profile groups",
        )


@contextmanager
def oidc_provider(*, app_base_urls: list[str], name: str = "testid") -> Iterator[RunningProvider]:
    """Run the provider for apps served at ``app_base_urls``; stopped at the end. Without Node
    or the package (``make browser`` installs it) the tests skip locally and fail in CI."""
    from joserfc.jwk import RSAKey

    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        services.unavailable("Node with oidc-provider (make browser installs it)")
    key = RSAKey.generate_key(
        2048, parameters={"kid": "test-provider", "use": "sig", "alg": "RS256"}
    )
    port = free_port()
    config = {
        "port": port,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{base}/login/sso/{name}/callback" for base in app_base_urls],
        "post_logout_redirect_uris": [f"{base}/login" for base in app_base_urls],
        "jwks": {"keys": [key.as_dict(private=True)]},
        "accounts": ACCOUNTS,
    }
    process = subprocess.Popen(
        [str(node), str(SCRIPT), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        issuer = _wait_until_listening(process)
        yield RunningProvider(issuer=issuer, signing_key=key, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith("listening "):
            return line.split(" ", 1)[1].strip()
    process.kill()
    # A provider that does not start fails the test, never skips it.
    raise RuntimeError("the OpenID provider did not start:\n" + "".join(seen))

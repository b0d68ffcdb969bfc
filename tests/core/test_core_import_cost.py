"""What ``import di_backend`` loads: only the core, never the services or the container."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded later, when a backend is created or started (or a service is imported).
_DEFERRED = (
    "di_backend.services",
    "di_backend.defaults",
    "di_backend.http",
    "di_backend._container",
    "dependency_injector",
    "starlette",
    "yaml",
)


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps(sorted(m for m in {_DEFERRED!r} if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_importing_di_backend_loads_no_service_container_or_http_module() -> None:
    """``import di_backend`` loads neither the service protocols nor the container nor HTTP."""
    assert _loaded_after("import di_backend") == []


@pytest.mark.parametrize(
    "code",
    [
        "from di_backend import core_services; core_services.logger",
        "from di_backend import create_backend_feature_loader, create_service_ref",
    ],
)
def test_public_names_of_the_core_need_no_deferred_module(code: str) -> None:
    """The core refs and factories are usable before any deferred module is imported."""
    assert _loaded_after(f"import di_backend\n{code}") == []


def test_services_still_load_on_first_use() -> None:
    """Importing ``di_backend.services`` afterwards gives the protocols the refs are typed by."""
    loaded = _loaded_after("import di_backend\nimport di_backend.services")
    assert loaded == ["di_backend.services"]

"""Helpers shared by the core tests."""

from __future__ import annotations

import pytest

from di_backend import Backend, BackendStartupError


async def startup_error(backend: Backend) -> BackendStartupError:
    """Start ``backend``, which must fail with ``BackendStartupError``; return that error."""
    with pytest.raises(BackendStartupError) as caught:
        await backend.start()
    return caught.value

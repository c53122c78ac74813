"""Fixtures for the Pulseway / RocketCyber stand-in tests (helpers in ``standins_support``)."""

from __future__ import annotations

import pytest
from standins_support import FakeClock, MemoryEventLog

from console.sandbox.world import World, build_world


@pytest.fixture
def world() -> World:
    """A fresh small world (5 companies, 50 devices); tests may change it."""
    return build_world("small", seed=7)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def event_log() -> MemoryEventLog:
    return MemoryEventLog()

"""Helpers for writing emulators of remote APIs (public: plugin authors use them too)."""

from .activity import StoreActivity
from .base import CountingMiddleware, Emulator, RequestStats, route_key
from .clock import ScaledClock
from .faults import ConnectionDropped, FaultConfig, FaultMiddleware, Send, drop_connection
from .ratelimit import FixedWindowCounter, WindowState
from .server import BackgroundServer

__all__ = [
    "BackgroundServer",
    "ConnectionDropped",
    "CountingMiddleware",
    "Emulator",
    "FaultConfig",
    "FaultMiddleware",
    "FixedWindowCounter",
    "RequestStats",
    "ScaledClock",
    "Send",
    "StoreActivity",
    "WindowState",
    "drop_connection",
    "route_key",
]

"""Emulator of the Unleashed inventory API (shared/api-notes/unleashed.md)."""

from __future__ import annotations

from .emulator import DEFAULT_OPTIONS, UnleashedEmulator
from .errors import UnleashedError
from .webhooks import EVENT_TYPES, signature as webhook_signature

__all__ = ["DEFAULT_OPTIONS", "EVENT_TYPES", "UnleashedEmulator", "UnleashedError", "webhook_signature"]

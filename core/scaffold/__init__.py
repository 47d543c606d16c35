"""Project template for ``tillbridge plugin new`` (see :mod:`.generate`)."""

from __future__ import annotations

from .generate import TEMPLATE, PluginNames, new_plugin, render

__all__ = ["TEMPLATE", "PluginNames", "new_plugin", "render"]

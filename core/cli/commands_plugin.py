"""``tillbridge plugin ...``: tools for plugin authors (``plugin new NAME`` generates a project)."""

from __future__ import annotations

import click

from .base import TillbridgeGroup


@click.group("plugin", cls=TillbridgeGroup)
def plugin_group() -> None:
    """Write your own connector plugin: generate, then test with the conformance suite."""

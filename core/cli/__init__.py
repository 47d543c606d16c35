"""``tillbridge``: the command line. Plugins add commands through ``register_commands``.

The toolkit for a plugin's commands (public, like ``tillbridge.admin``): ``TillbridgeGroup`` (a
group whose commands show a :class:`~tillbridge.TillbridgeError` as a message and its fix, not a
traceback), ``pass_state`` and ``CliState`` (the root options, the connection chosen, and
``state.admin``, the :class:`~tillbridge.admin.Admin` of the app), ``connection_option`` (the
usual ``--connection/-c``), ``console`` (rich) and ``print_results`` (a table of flow runs).
"""

from .base import CliState, TillbridgeGroup, connection_option, console, pass_state
from .commands_data import print_results

__all__ = ["CliState", "TillbridgeGroup", "connection_option", "console", "pass_state", "print_results"]

"""A CSV/JSON drop folder as the point of sale of a tillbridge connection.

An example third-party plugin: it uses tillbridge's public API only (``tillbridge``,
``tillbridge.testing``) and is found through the ``tillbridge`` entry-point group.
"""

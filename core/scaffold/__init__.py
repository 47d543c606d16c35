"""Project template for `tillbridge plugin new`."""

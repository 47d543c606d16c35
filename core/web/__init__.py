"""The web console for administrators (Starlette + Jinja2, htmx, SortableJS)."""

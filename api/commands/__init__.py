"""CLI command groups. A module here may define

- ``register(app: typer.Typer) -> None``: adds its commands to ``gridgis``;
- ``load_demo(settings: Settings, console: Console) -> None`` and ``DEMO_ORDER: int``: a step
  of ``gridgis demo`` / ``gridgis load-demo`` run after the demo city is loaded (idempotent).
"""

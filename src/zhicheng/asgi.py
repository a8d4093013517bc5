"""The ASGI entry point for uvicorn: `zhicheng.asgi:app`, configured from ZHICHENG_* variables.

Once the app is built, what it holds for good (modules, routes, tables, templates) leaves the collector's
generations (gc.freeze): the full collections that a group commit's thousands of new rows set off then walk
only what requests make, not the whole program (bench/approvals_flow.py measured the group commit about a
tenth faster for it)."""

import gc

from zhicheng.app import create_app

app = create_app()
gc.collect()
gc.freeze()

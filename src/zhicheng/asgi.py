"""The ASGI entry point for uvicorn: `zhicheng.asgi:app`, configured from ZHICHENG_* variables."""

from zhicheng.app import create_app

app = create_app()

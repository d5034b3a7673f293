"""The HTTP API (SPEC §4): thin routers over resolver.lookup and resolver.access."""

from api.app import create_app

__all__ = ["create_app"]

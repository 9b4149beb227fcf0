"""verify_action tests use the routing tests' floor and the in-memory layer recorder."""

from tests.routing.conftest import published  # noqa: F401

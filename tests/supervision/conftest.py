from tests.routing.conftest import _fresh_stats, published  # noqa: F401 (fixtures)

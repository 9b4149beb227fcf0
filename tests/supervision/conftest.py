import pytest

from supervision.status import notice_cache_clear
from tests.routing.conftest import _fresh_stats, published  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def _notices_forgotten():
    """The widget notice's per-process cache is keyed by site id, which restarts with each
    test database (DESIGN.md: such a cache must be cleared per test)."""
    notice_cache_clear()
    yield
    notice_cache_clear()

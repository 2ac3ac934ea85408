from __future__ import annotations

import pytest

from lantai.catalog import services
from lantai.catalog.models import Category


@pytest.fixture
def ws(db: None) -> Category:
    """Fonds Z109 (default repository) with its 文书 category under the default DA/T 22 rule."""
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    return services.create_category(fonds, "WS")

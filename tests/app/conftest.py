import pytest

from tests.app.harness import make_client


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path, seconds_before_first=3600) as c:
        yield c

import httpx
import pytest

from tests.support.receivers import HttpReceiver, SmtpServer


@pytest.fixture
def receiver():
    server = HttpReceiver()
    yield server
    server.close()


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def http():
    """A client for loopback fakes; tests that time out on purpose define a shorter one."""
    client = httpx.Client(timeout=5, trust_env=False)
    yield client
    client.close()

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

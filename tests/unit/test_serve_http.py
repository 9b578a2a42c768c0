"""The HTTP layer's pure parts: Basic credentials and HOST:PORT."""

from __future__ import annotations

import base64

import pytest

from iscsiprf.cli.serve_cmds import parse_host_port
from iscsiprf.serve.http import BasicAuth


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_auth() -> None:
    auth = BasicAuth("monitor", "pa:ss wörd")
    assert auth.check(basic("monitor:pa:ss wörd")) == "monitor"
    assert auth.check("basic " + basic("monitor:pa:ss wörd")[6:]) == "monitor"
    for bad in [None, "", "Bearer x", basic("monitor:wrong"), basic("other:pa:ss wörd"), basic("monitor"),
                "Basic !!!notbase64", "Basic " + base64.b64encode(b"\xff\xfe:x").decode()]:  # fmt: skip
        assert auth.check(bad) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:5988", ("127.0.0.1", 5988)), (":0", ("127.0.0.1", 0)), ("[::1]:9745", ("::1", 9745)),
     ("0.0.0.0:80", ("0.0.0.0", 80))],
)  # fmt: skip
def test_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["5988", "host:", "host:99999", "host:abc"])
def test_bad_host_port(text: str) -> None:
    with pytest.raises(ValueError):
        parse_host_port(text)

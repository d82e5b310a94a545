"""The pipelined Redis protocol the limit scripts use, without a connection: commands encoded in RESP, and replies
split anywhere reaching their callers in order. tests/e2e/governance/test_redis_pipeline.py runs it against Redis."""

from __future__ import annotations

import pytest

from ocigate.governance.limits.pipeline import RedisReplyError, _Protocol, encode


def test_commands_are_encoded_in_resp() -> None:
    assert encode(["SET", "k", 12]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"
    assert encode(["SET", "clé", b"\x00"]) == b"*3\r\n$3\r\nSET\r\n$4\r\ncl\xc3\xa9\r\n$1\r\n\x00\r\n"


async def test_replies_split_anywhere_reach_their_callers_in_order() -> None:
    protocol = _Protocol(reply_timeout_s=60)
    waiters = [protocol.send(b"") for _ in range(6)]
    stream = b":42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n:1\r\n$0\r\n\r\n*1\r\n:-7\r\n-NOSCRIPT No matching script\r\n+OK\r\n"
    for i in range(len(stream)):
        protocol.data_received(stream[i : i + 1])
    assert waiters[0].result() == 42 and waiters[1].result() == b"hello" and waiters[2].result() is None
    assert waiters[3].result() == [1, b"", [-7]]
    with pytest.raises(RedisReplyError, match="NOSCRIPT"):
        waiters[4].result()
    assert waiters[5].result() == b"OK"

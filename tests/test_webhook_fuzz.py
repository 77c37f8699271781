"""Whatever arrives at /wechat, the answer is a clear status or a valid reply — never a 500."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wechat import WeChatServer, message_xml

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Text as residents could send it: any printable characters, emoji, CDATA ends, markup, digits.
pieces = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
texts = (
    st.lists(
        pieces | st.sampled_from(["]]>", "<![CDATA[", "&amp;", "#３", "3栋502"]),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda t: t.strip())
)


@FUZZ
@given(text=texts, msg_id=st.integers(min_value=1, max_value=2**62))
def test_any_text_gets_a_valid_reply(wechat: WeChatServer, text: str, msg_id: int) -> None:
    reply = wechat.post(message_xml("o_fuzz", "text", {"Content": text, "MsgId": msg_id}))
    assert reply.status == 200
    if reply.body != "success":
        ElementTree.fromstring(reply.body)  # the reply is well-formed XML
        assert reply.text and "Traceback" not in reply.text


@FUZZ
@given(body=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: "<xml>" + t + "</xml>"))
def test_any_body_is_refused_cleanly(wechat: WeChatServer, sheli: Any, body: Any) -> None:
    reply = wechat.post(body)
    assert reply.status in (200, 400), reply.body
    assert "Traceback" not in reply.body

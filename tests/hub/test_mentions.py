"""@mentions as people write them: an address's local part, or a name as the UI suggests
("@名前でメンション"), in Japanese sentences without spaces and with さん."""

from __future__ import annotations

from typing import Any

import pytest

from hub.models import Mention
from tests.factories import make_channel, make_thread, make_user


@pytest.fixture
def people(session: Any) -> dict[str, Any]:
    return {
        "tanaka": make_user(session, email="tanaka@corp.example", name="田中 健太"),
        "sato1": make_user(session, email="sato.m@corp.example", name="佐藤 美咲"),
        "sato2": make_user(session, email="sato.y@corp.example", name="佐藤 裕子"),
        "emily": make_user(session, email="ecarter@corp.example", name="Emily Carter"),
        "author": make_user(session, email="author@corp.example", name="Author"),
    }


def mentioned(session: Any, people: dict[str, Any], body: str) -> set[str]:
    post = make_thread(session, channel=make_channel(session), author=people["author"], body=body)
    ids = {m.user_id for m in session.query(Mention).filter_by(post_id=post.id)}
    return {key for key, user in people.items() if user.id in ids}


@pytest.mark.parametrize(
    ("body", "who"),
    [
        ("@tanaka 確認お願いします", {"tanaka"}),
        ("@田中 確認お願いします", {"tanaka"}),
        ("@田中さん、確認お願いします", {"tanaka"}),
        ("@田中健太さん 確認お願いします", {"tanaka"}),
        ("この件は@田中さんに聞いてください", {"tanaka"}),
        ("@Emily could you check?", {"emily"}),
        ("@emilycarter could you check?", {"emily"}),
        ("@佐藤美咲さん お願いします", {"sato1"}),
        # Two members are 佐藤: the family name alone names neither.
        ("@佐藤さん お願いします", set()),
        # LIKE wildcards in a handle match nobody else's address.
        ("@t_naka @%", set()),
        ("@emilyx, mail tanaka@corp.example", set()),
    ],
)
def test_a_mention_names_the_member_people_mean(session, people, body, who) -> None:
    assert mentioned(session, people, body) == who

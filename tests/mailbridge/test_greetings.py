"""What counts as only greetings around a digest reply's answers (greetings.only_greetings)."""

from __future__ import annotations

import pytest

from mailbridge.greetings import only_greetings

NAMES = ("山本 太郎", "Taro Yamamoto")


@pytest.mark.parametrize(
    "text",
    [
        "お疲れ様です。山本です。",
        "お疲れさまです。\n営業部の山本です。",
        "おつかれさまです",
        "いつもお世話になっております。総務課 山本太郎です。",
        "お世話になります。山本でございます。",
        "下記、青字で回答します。",
        "インラインで失礼します。",
        "以上、よろしくお願いします。\n山本",
        "以上です。よろしくお願いいたします。",
        "引き続き宜しくお願い致します。",
        "皆様\nお疲れ様です！",
        "Hi all,",
        "Hello team, this is Taro.",
        "Thanks,\nTaro",
        "Best regards,\nTaro Yamamoto",
        "See my answers inline.",
        # Lines that only say where the answers are (Outlook users write them above the header).
        "インラインで回答します。",
        "以下にインラインにて回答いたします。",
        "下記にコメントします。",
        "青字で回答を記入しました。",
        "回答は下記の通りです。",
        "お疲れ様です。\n文中に回答を書きました。",
        "Please see my answers below.",
        "My comments are inline.",
    ],
)
def test_only_greetings(text: str) -> None:
    assert only_greetings(text, NAMES)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "了解です。",
        "承知しました。",
        "お疲れ様です。山本です。\n来週の営業会議は欠席します。",
        "お疲れ様です。全部確認しました。",
        "12月度の件、お疲れ様です",
        "来週の会議は欠席の山本です",
        "佐藤です。",  # not the writer's name
        "お疲れ様です。山本です。よろしいでしょうか？",
        "以上、承認します。",
        "Hi all, see you at 10.",
        "回答は来週します。",
        "インラインで回答します。予算は承認です。",
        "See inline: the budget is approved.",
        "Thanks for the numbers.",
        "OK",
    ],
)
def test_anything_more_is_not_only_greetings(text: str) -> None:
    assert not only_greetings(text, NAMES)

# ruff: noqa: E501  (the demo texts are Japanese sentences; splitting them hurts more than it helps)
"""Demo data: a small Japanese company (株式会社ひろば商事) with members, channels and threads.

``load`` fills an empty hub; run again, it keeps the data and only sets a fresh admin password.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.models import Channel, Event, Post, User, Via
from hub.services import (
    accounts,
    channel_creation,
    channels,
    onboarding,
    rules,
    thread_pages,
    threads,
)

DOMAIN = "hiroba-shoji.example"
ADMIN_EMAIL = f"sato@{DOMAIN}"

# (local part, name, options)
MEMBERS: list[tuple[str, str, dict[str, Any]]] = [
    ("sato", "佐藤 美咲", {"admin": True}),
    ("tanaka", "田中 健太", {}),
    ("suzuki", "鈴木 愛", {}),
    ("takahashi", "高橋 翔", {}),
    ("ito", "伊藤 さくら", {}),
    ("emily", "Emily Carter", {"locale": "en"}),
    # 部長 reads mail at any hour, so the demo's mail catcher shows his mail right away;
    # 課長 keeps office hours, so his non-urgent mail waits for the morning (quiet hours).
    (
        "yamamoto",
        "山本 誠",
        {"email_only": True, "working_days": "mon-sun", "working_hours": "00:00-24:00"},
    ),
    ("nakamura", "中村 浩二", {"email_only": True}),
]

# (slug, name, purpose, kind, private reason or None, members)
CHANNELS: list[tuple[str, str, str, str, str | None, list[str]]] = [
    ("general", "全社連絡",
     "会社全体へのお知らせと、全員に関わる連絡の場所です。部署内の話題は各部署のチャンネルへ、"
     "雑談は「雑談」へどうぞ。", "work", None,
     ["sato", "tanaka", "suzuki", "takahashi", "ito", "emily", "yamamoto", "nakamura"]),
    ("sales", "営業",
     "営業部の案件共有、見積・提案の相談、顧客訪問の報告。受注・失注の振り返りもここで。"
     "他部署からの「この案件どうなった？」も歓迎です。", "work", None,
     ["tanaka", "emily", "yamamoto", "sato"]),
    ("dev", "開発",
     "社内システムと製品開発の相談、リリースの告知、障害の報告と振り返り。"
     "技術的な質問は部署を問わず誰でもどうぞ。", "work", None,
     ["suzuki", "takahashi", "nakamura", "sato"]),
    ("kaizen", "業務改善",
     "日々の仕事の「ここが面倒」「こうすれば速くなる」を出し合う場所。"
     "小さな提案ほど歓迎です。決まったことは全社連絡で告知します。", "work", None,
     ["ito", "tanaka", "suzuki", "sato"]),
    ("zatsudan", "雑談",
     "仕事以外の話題はこちらへ。ランチ、趣味、週末のことなど気軽にどうぞ。", "social", None,
     ["takahashi", "emily", "suzuki", "ito", "tanaka"]),
    ("jinji", "人事",
     "採用・評価・労務について、人事担当と役員で調整する場所です。", "work",
     "個人の評価・給与・健康に関する情報を扱うため、人事担当と役員に限っています。",
     ["sato", "ito"]),
]  # fmt: skip

# (channel, title, [(author, body, via, trimmed, hours ago)], reactions {post index: [(who, emoji)]})
THREADS: list[
    tuple[str, str, list[tuple[str, str, Via, str | None, float]], dict[int, list[tuple[str, str]]]]
] = [
    ("general", "広場へようこそ / Welcome to Hiroba", [
        ("sato", "今日から社内のやり取りを「広場」に集めます。\n\n"
         "- 各チャンネルの**目的**を読んでから投稿してください\n"
         "- メールだけの方も、届いたメールに返信すれば投稿になります\n"
         "- 仕事以外の話題は #雑談 へどうぞ\n\n"
         "From today our conversations live in Hiroba. Read each channel's purpose first; "
         "if you prefer mail, just reply to the mail you get.", Via.WEB, None, 240),
        ("emily", "Thank you! Replying by mail works nicely — I tried it from my phone.",
         Via.WEB, None, 238),
        ("yamamoto", "了解しました。営業部にも周知します。", Via.EMAIL,
         "> 今日から社内のやり取りを「広場」に集めます。\n\n--\n営業部 部長 山本\n"
         "株式会社ひろば商事", 236),
    ], {0: [("tanaka", "👍"), ("suzuki", "👍"), ("emily", "🎉"), ("ito", "👍")],
        2: [("sato", "🙏")]}),
    ("general", "年末年始の休業期間について", [
        ("sato", "12月28日（土）から1月5日（日）まで休業です。\n"
         "急ぎの連絡は各部署の当番までお願いします。当番表は来週ここに載せます。", Via.WEB, None, 30),
        ("nakamura", "承知しました。開発の当番は高橋さんと調整します。", Via.EMAIL,
         "> 12月28日（土）から1月5日（日）まで休業です。", 26),
    ], {0: [("takahashi", "✅"), ("ito", "👍")]}),
    ("sales", "A社 来期予算の見積もり相談", [
        ("tanaka", "A社から、来期予算の枠で保守契約の見積もりを出してほしいと依頼がありました。\n"
         "昨年比で **10%増** までなら通りそうとのことです。値引きの幅をどこまで取るか相談させてください。",
         Via.WEB, None, 50),
        ("yamamoto", "値引きは5%までで進めてください。予算会議は来週火曜なので、月曜中に案をください。",
         Via.EMAIL, "> A社から、来期予算の枠で保守契約の見積もりを出してほしいと依頼がありました。\n"
         "\n山本", 47),
        ("tanaka", "@yamamoto 承知しました。月曜の午前中に見積書の案を共有します。", Via.WEB, None, 46),
        ("emily", "I can prepare the English version of the proposal for their Singapore office. "
         "Send me the draft when it's ready.", Via.WEB, None, 44),
    ], {1: [("tanaka", "🙏")], 3: [("tanaka", "👍"), ("sato", "👍")]}),
    ("sales", "Q3 pipeline review", [
        ("emily", "Pipeline for Q3 is up 18% on last year. Two large deals are waiting on budget "
         "approval; I'll update this thread after Thursday's calls.", Via.WEB, None, 80),
        ("tanaka", "ありがとうございます。B社の件は私も同席します。", Via.WEB, None, 78),
    ], {}),
    ("dev", "社内ポータルのリリース手順", [
        ("suzuki", "来週のリリース手順をまとめました。\n\n1. 木曜 15:00 までにレビュー完了\n"
         "2. 木曜 17:00 ステージングへ反映\n3. 金曜 10:00 本番へ反映\n\n"
         "手順書: https://wiki.hiroba-shoji.example/release", Via.WEB, None, 20),
        ("takahashi", "ステージングの確認は私がやります。", Via.WEB, None, 19),
        ("nakamura", "リリースは金曜の夕方を避けてください。午前中に終わらせる計画で問題ありません。",
         Via.EMAIL, "> 3. 金曜 10:00 本番へ反映\n\n中村", 18),
    ], {0: [("takahashi", "✅"), ("nakamura", "👍")]}),
    ("dev", "ログイン障害の振り返り（11/20）", [
        ("takahashi", "11/20 9:05〜9:40 に社内ポータルへログインできない障害がありました。\n"
         "原因は証明書の更新漏れです。更新日をカレンダーに登録し、30日前に通知するようにしました。",
         Via.WEB, None, 120),
        ("suzuki", "対応ありがとうございました。監視にも証明書の期限チェックを追加しておきます。",
         Via.WEB, None, 118),
    ], {0: [("suzuki", "🙏"), ("sato", "🙏")]}),
    ("kaizen", "経費精算の申請をもっと簡単に", [
        ("ito", "経費精算で毎回、領収書の写真と申請書の両方が必要なのが手間だという声が多いです。"
         "写真だけで申請できるようにしたいのですが、ご意見ください。", Via.WEB, None, 70),
        ("tanaka", "外出が多いので、写真だけで済むと本当に助かります！", Via.WEB, None, 69),
        ("suzuki", "申請フォームに写真のアップロードを付けるのは来月対応できそうです。", Via.WEB, None, 60),
    ], {0: [("tanaka", "🎉"), ("emily", "👍")], 2: [("ito", "🎉")]}),
    ("zatsudan", "おすすめのランチ（本社周辺）", [
        ("takahashi", "駅の東口にできた定食屋、焼き魚定食がおいしかったです🐟", Via.WEB, None, 10),
        ("ito", "今度行ってみます！ 北口のパン屋さんもおすすめです。", Via.WEB, None, 9),
    ], {0: [("emily", "😄"), ("suzuki", "😄")]}),
    ("zatsudan", "Weekend hiking club?", [
        ("emily", "Anyone up for a hike to Mt. Takao this Saturday? Beginners welcome!",
         Via.WEB, None, 6),
        ("takahashi", "行きます！ 高尾山は久しぶりです。", Via.WEB, None, 5),
    ], {1: [("emily", "🎉")]}),
    ("jinji", "来期の採用計画（予算確認）", [
        ("ito", "来期の採用予算案です。営業2名、開発3名で申請予定です。", Via.WEB, None, 40),
        ("sato", "役員会で確認します。開発は中途採用を優先してください。", Via.WEB, None, 38),
    ], {}),
]  # fmt: skip


@dataclass
class DemoResult:
    """What ``load`` did, for the command to print."""

    admin_email: str
    password: str
    created: bool
    channels: list[Channel] = field(default_factory=list)


def demo_password() -> str:
    """HIROBA_DEMO_PASSWORD, or a fresh random one."""
    return os.environ.get("HIROBA_DEMO_PASSWORD") or secrets.token_urlsafe(9)


def load(session: Session, *, password: str | None = None) -> DemoResult:
    """Fill an empty hub with the demo company; on a hub that has it, only reset the password.

    :raises RuntimeError: the hub already has other members (the demo never mixes in).
    """
    password = password or demo_password()
    admin = accounts.find_user_by_email(session, ADMIN_EMAIL)
    if admin is not None:
        _set_passwords(session, password)
        return DemoResult(ADMIN_EMAIL, password, False, channels.list_channels(session))
    if session.scalar(select(func.count()).select_from(User)):
        raise RuntimeError("this hub already has members; the demo loads only into an empty hub")
    people: dict[str, User] = {}
    for local, name, opts in MEMBERS:
        settings: dict[str, Any] = {"working_days": "mon-fri", "working_hours": "09:00-18:00"}
        people[local] = accounts.create_user(
            session, email=f"{local}@{DOMAIN}", name=name, **{**settings, **opts}
        )
    _set_passwords(session, password)
    # The demo company has used the hub for weeks: its web members accepted the rules then.
    # (The email-only managers have not: their welcome mails, below, ask them to.)
    for user in people.values():
        if not user.email_only:
            rules.accept_rules(session, user, Via.WEB, now=utcnow() - timedelta(days=14))
    made = []
    for slug, name, purpose, kind, reason, members in CHANNELS:
        channel = channel_creation.create_channel(
            session, slug=slug, name=name, purpose=purpose, kind=kind,
            private=reason is not None, reason=reason, creator=people[members[0]],
        )  # fmt: skip
        for local in members[1:]:
            channels.add_member(session, user=people[local], channel=channel, actor=None)
        made.append(channel)
    by_slug = {c.slug: c for c in made}
    # 全社連絡 is for everyone: a member invited later joins it, and the announcement channel
    # (made here, as the first member's arrival makes it in any hub), as every member is.
    by_slug["general"].new_members_join = True
    for user in people.values():
        joined = onboarding.join_default_channels(session, user, locale="ja")
    made += [c for c in joined if c not in made]
    for slug, title, posts, reactions in THREADS:
        _thread(session, by_slug[slug], title, posts, reactions, people)
    for channel in made:
        latest = [t.last_post_at for t in thread_pages.list_threads(session, channel, limit=1)]
        channel.last_activity_at = latest[0] if latest else channel.created_at
    # The demo's history is already "seen": it must not turn into a flood of mail.
    session.execute(update(Event).values(processed_at=utcnow()))
    _fresh_mail_for_the_managers(session, people)
    return DemoResult(ADMIN_EMAIL, password, True, made)


def _fresh_mail_for_the_managers(session: Session, people: dict[str, User]) -> None:
    """Leave the email-only managers something in the mail catcher when the hub starts: their
    welcome mails and a new reply that names 部長 in a thread he answered by mail."""
    managers = [u.id for u in people.values() if u.email_only]
    session.execute(
        update(Event)
        .where(Event.kind == "member_added", Event.subject_id.in_(managers))
        .values(processed_at=None)
    )
    answered = session.scalar(select(Post).where(Post.body.like("A社から、来期予算%")))
    assert answered is not None  # written above (THREADS)
    thread = answered.thread
    threads.reply(
        session, author=people["tanaka"], thread=thread, via=Via.WEB,
        body="@yamamoto 部長、見積書の案をまとめました。値引きは5%で提示します。"
        "この内容で先方に送ってよいか、ご確認をお願いします。",
    )  # fmt: skip


def _set_passwords(session: Session, password: str) -> None:
    for local, _name, opts in MEMBERS:
        user = accounts.find_user_by_email(session, f"{local}@{DOMAIN}")
        if user is not None and not opts.get("email_only"):
            accounts.set_password(user, password)


def _thread(
    session: Session,
    channel: Channel,
    title: str,
    posts: list[tuple[str, str, Via, str | None, float]],
    reactions: dict[int, list[tuple[str, str]]],
    people: dict[str, User],
) -> None:
    made: list[Post] = []
    now = utcnow()
    for n, (who, body, via, trimmed, hours) in enumerate(posts):
        author = people[who]
        if n == 0:
            post = threads.start_thread(session, author=author, channel=channel, title=title,
                                        body=body, via=via, trimmed=trimmed)  # fmt: skip
        else:
            post = threads.reply(session, author=author, thread=made[0].thread, body=body,
                                 via=via, trimmed=trimmed)  # fmt: skip
        post.created_at = now - timedelta(hours=hours)
        made.append(post)
    thread = made[0].thread
    thread.created_at = made[0].created_at
    thread.last_post_at = made[-1].created_at
    for index, marks in reactions.items():
        for who, emoji in marks:
            threads.react(session, user=people[who], post=made[index], emoji=emoji, via=Via.WEB)
    session.flush()

"""Commands to help@: digest daily|weekly|off, mute <channel>, unsubscribe, help (en and ja).

``parse_commands`` reads the subject and the first lines of the new text; ``run`` maps each
command to a hub.services call and answers by mail (the result, or the how-to).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from hub import delivery_words
from hub.errors import HubError, NotFound, Reason
from hub.i18n import N_
from hub.models import Channel, Delivery
from hub.services import accounts, channels
from mailbridge import help_question, outbound
from mailbridge.context import InboundContext, Outcome

MAX_LINES = 20

# A refused command in words: (what happened, what to do), msgids that templates/mail/
# command_result.* translate in the member's language. The code itself is never shown.
_ASK_ADMIN = N_("Ask an admin to do it for you.")
_ADD_ME = N_("Ask a member of the channel or an admin to add you.")
REFUSALS: dict[str, tuple[str, str]] = {
    Reason.FORBIDDEN: (N_("You may not do that."), _ASK_ADMIN),
    Reason.ADMIN_ONLY: (N_("Only admins may do that."), _ASK_ADMIN),
    Reason.NOT_A_MEMBER: (N_("Only members of this channel may do that."), _ADD_ME),
    Reason.PRIVATE_CHANNEL: (
        N_("This channel is private and you are not a member of it."),
        _ADD_ME,
    ),
    Reason.NOT_PERMITTED_BY_POLICY: (N_("Company policy does not allow that."), _ASK_ADMIN),
    Reason.INACTIVE_MEMBER: (
        N_("This account is deactivated."),
        N_("Ask an admin to reactivate it."),
    ),
    Reason.CHANNEL_ARCHIVED: (
        N_("This channel is archived."),
        N_("It sends no new mail; ask an admin if it should be reopened."),
    ),
    Reason.INVALID_VALUE: (
        N_("A value is not valid."),
        N_('Write the command as the how-to shows it; write "help" to get it.'),
    ),
}
REFUSED = (N_("That did not work."), N_("Please try again, or ask an admin for help."))

# What "unsubscribe" stops, and what it does not: announcements reach everyone (as the
# preferences page says), and so does mail about the member alone (culture_out).
UNSUBSCRIBED = N_(
    "You are unsubscribed: no more digests, and no mail about posts or mentions. Announcements "
    "from the admins still reach everyone, and so does mail about you alone (thanks you "
    "receive, a channel you are added to)."
)

# Words (lower-case, NFKC) for each command and each digest mode, English and Japanese.
VERBS = {
    "digest": "digest", "ダイジェスト": "digest", "まとめ": "digest",
    "mute": "mute", "ミュート": "mute",
    "unsubscribe": "unsubscribe", "配信停止": "unsubscribe", "登録解除": "unsubscribe",
    "help": "help", "ヘルプ": "help", "使い方": "help", "?": "help",
}  # fmt: skip
MODES = {
    "daily": Delivery.DAILY, "毎日": Delivery.DAILY, "日次": Delivery.DAILY,
    "weekly": Delivery.WEEKLY, "毎週": Delivery.WEEKLY, "週次": Delivery.WEEKLY,
    "off": Delivery.MENTIONS, "停止": Delivery.MENTIONS, "オフ": Delivery.MENTIONS,
    "なし": Delivery.MENTIONS,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Command:
    """One command line: its verb and argument."""

    verb: str
    arg: str = ""
    line: str = ""


def parse_line(line: str) -> Command | None:
    """Read one line as a command, or None if it is not one.

    >>> parse_line("Digest Weekly")
    Command(verb='digest', arg='weekly', line='Digest Weekly')
    >>> parse_line("ダイジェスト　毎日").arg
    '毎日'
    >>> parse_line("Thanks for the help") is None
    True
    """
    norm = unicodedata.normalize("NFKC", line).strip().lower()
    words = norm.replace("：", " ").replace(":", " ").split()
    if not words or words[0] not in VERBS or len(words) > 2:
        return None
    verb, arg = VERBS[words[0]], (words[1] if len(words) > 1 else "")
    if verb == "digest" and arg not in MODES:
        return None
    if verb == "mute" and not arg:
        return None
    if verb in ("help", "unsubscribe") and arg:
        return None
    return Command(verb, arg, line.strip())


def parse_commands(subject: str, text: str) -> list[Command]:
    """Return the commands in the subject and the first lines of the text, in order."""
    found: list[Command] = []
    for line in [subject, *text.splitlines()[:MAX_LINES]]:
        cmd = parse_line(line)
        if cmd is not None and cmd not in found:
            found.append(cmd)
    return found


def execute(ctx: InboundContext, cmd: Command) -> dict[str, Any]:
    """Carry out one command through hub.services; return what to tell the member."""
    user = ctx.sender
    assert user is not None
    result: dict[str, Any] = {"command": cmd.line, "verb": cmd.verb, "arg": cmd.arg, "ok": True}
    try:
        if cmd.verb == "digest":
            mode = MODES[cmd.arg]
            accounts.update_preferences(ctx.session, user, delivery=mode)
            result["message"] = delivery_words.CHOSEN.get(
                mode, N_("Digests are off; you still get mail for mentions and replies.")
            )
            if mode in (Delivery.DAILY, Delivery.WEEKLY):
                # When it comes, and where to change that (the member never chose it here).
                result["when"] = {"weekly": mode == Delivery.WEEKLY, "hour": user.digest_hour,
                                  "day": user.digest_weekday}  # fmt: skip
        elif cmd.verb == "mute":
            channel = _channel_named(ctx, cmd.arg)
            # A member's delivery goes off; someone outside stays outside (a ChannelMute).
            channels.mute(ctx.session, user=user, channel=channel)
            result["message"] = N_("You will get no more mail from this channel.")
        elif cmd.verb == "unsubscribe":
            accounts.update_preferences(ctx.session, user, delivery=Delivery.OFF)
            result["message"] = UNSUBSCRIBED
            # A channel the member set apart still sends as set (``mode_for``): say which.
            result["still"] = _set_apart(ctx)
            result["undo"] = True
    except HubError as err:
        why, fix = REFUSALS.get(err.reason, REFUSED)
        result.update(ok=False, reason=str(err.reason), message=why, fix=fix)
    return result


def _set_apart(ctx: InboundContext) -> list[str]:
    """The names of the channels whose mail the sender set apart from their own mode (not off):
    they still send after "unsubscribe"."""
    user = ctx.sender
    assert user is not None
    return [
        c.name
        for c in channels.list_channels(ctx.session, viewer=user)
        if channels.channel_delivery(ctx.session, user=user, channel=c) not in (None, Delivery.OFF)
    ]


def _fold(name: str) -> str:
    """A channel name as written in a mail: NFKC, case and spaces ignored, quotes dropped."""
    name = unicodedata.normalize("NFKC", name).casefold().strip("\"'「」『』#")
    return "".join(name.split())


def _channel_named(ctx: InboundContext, arg: str) -> Channel:
    """The channel ``mute <arg>`` names: its slug ("zatsudan"), its address
    ("zatsudan@hub.example") or its name as the welcome mail lists it ("雑談").

    :raises NotFound: no channel the sender may read goes by that name.
    """
    user = ctx.sender
    assert user is not None
    slug = arg.split("@", 1)[0] if "@" in arg else arg
    try:
        return channels.get_visible_channel(ctx.session, _fold(slug), viewer=user)
    except NotFound:
        wanted = _fold(arg)
        for channel in channels.list_channels(ctx.session, viewer=user):
            if _fold(channel.name) == wanted:
                return channel
        raise


def run(ctx: InboundContext) -> Outcome:
    """Run the commands of a mail to help@ and answer by mail; no command sends the how-to."""
    user = ctx.sender
    assert user is not None
    cmds = parse_commands(ctx.incoming.clean_subject, ctx.row.text or "")
    actions = [c for c in cmds if c.verb != "help"]
    results = [execute(ctx, c) for c in actions]
    template = "command_result" if results else "help"
    reason = None if cmds or not (ctx.row.text or "").strip() else "unknown_command"
    # Words with no command are a question for a person: the admins get it.
    asked = help_question.pass_on(ctx) if reason else []
    outbound.queue_mail(
        ctx.app,
        ctx.session,
        kind="command",
        dedupe_key=f"command:{ctx.row.id}",
        to=user,
        template=template,
        context={"results": results, "member": user, "asked": asked, **help_context(ctx)},
        headers=_reply_headers(ctx),
    )
    summary = "; ".join(f"{r['command']}: {'ok' if r['ok'] else r['reason']}" for r in results)
    return Outcome(
        "command",
        reason,
        author=user.email,
        text=summary or "help",
        trimmed=ctx.row.trimmed,
        results=results,
    )


def help_context(ctx: InboundContext) -> dict[str, Any]:
    """What the how-to mail shows: our addresses and the channels the member may post in."""
    domain = ctx.app.config["MAIL_DOMAIN"]
    user = ctx.sender
    visible = channels.list_channels(ctx.session, viewer=user) if user else []
    return {
        "help_address": f"help@{domain}",
        "channels": [
            {"slug": c.slug, "name": c.name, "address": f"{c.slug}@{domain}", "purpose": c.purpose}
            for c in visible
            if c.status == "active"
        ],
    }


def _reply_headers(ctx: InboundContext) -> dict[str, str]:
    """Thread the answer under the member's mail; answering it runs commands again (help@),
    as its text says (without, the answer went to our From address and was refused)."""
    mid = ctx.incoming.message_id
    headers = {"Reply-To": f"help@{ctx.app.config['MAIL_DOMAIN']}"}
    if mid:
        headers.update({"In-Reply-To": f"<{mid}>", "References": f"<{mid}>"})
    return headers

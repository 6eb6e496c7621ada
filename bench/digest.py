"""Benchmark (prints, never asserts): N members' daily digests from P new posts in C channels,
built and queued by the real job, against rendering the same templates with no database.

    .venv/bin/python bench/digest.py [--members 10000] [--posts 1000] [--channels 50]
        [--db sqlite|postgres] [--rounds R] [--processes P]

``--db postgres`` runs in a scratch database of its own (see bench/fanout.py: never the shared
test database).

The job shares many digests out over worker processes (DIGEST_PROCESSES, ``--processes``; 0
is one per core, at most four); the render-only baseline runs in one. Both the job's wall time
and its CPU time (its worker processes' included) are printed.

Targets: the job within 60 s, and ratio (render-only seconds / job seconds) >= 0.5.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(app, members: int, posts: int, channels: int) -> None:  # noqa: ANN001
    from hub.db import transaction, utcnow
    from hub.models import Channel, ChannelKind, Mention, Post, Thread, User

    rng = random.Random(7)
    start = utcnow() - timedelta(hours=20)
    with transaction(app) as session:
        users = [
            User(
                email=f"m{i}@corp.example",
                name=f"社員 {i}",
                email_only=True,
                working_days="mon,tue,wed,thu,fri,sat,sun",
                work_start=0,
                work_end=1440,
                timezone="UTC",
                digest_hour=0,
                created_at=start - timedelta(days=30),
            )  # fmt: skip
            for i in range(members)
        ]
        session.add_all(users)
        chans = [
            Channel(
                slug=f"ch{c}",
                name=f"チャンネル {c}",
                purpose=f"{c} 番目のチャンネルの目的",
                kind=ChannelKind.SOCIAL if c % 10 == 9 else ChannelKind.WORK,
            )  # fmt: skip
            for c in range(channels)
        ]
        session.add_all(chans)
        session.flush()
        threads: list[Thread] = []
        for i in range(posts):
            at = start + timedelta(seconds=60 * i)
            author = users[rng.randrange(min(members, 200))]
            if i % 5 == 0:
                thread = Thread(channel_id=chans[(i // 5) % channels].id, title=f"議題 {i // 5}",
                                author_id=author.id, created_at=at, last_post_at=at)  # fmt: skip
                session.add(thread)
                session.flush()
                threads.append(thread)
            else:
                thread = threads[rng.randrange(len(threads))]
            body = f"投稿 {i}: 来期の計画について意見を書きます。" + (
                "質問があります？" if i % 7 == 0 else ""
            )
            post = Post(thread_id=thread.id, author_id=author.id, body=body, created_at=at)
            session.add(post)
            if i % 10 == 0:
                session.flush()
                session.add(Mention(post_id=post.id, user_id=users[rng.randrange(members)].id))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-base", default="", help="server URL for the scratch database")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0,
                        help="DIGEST_PROCESSES (0: one per core, at most 4)")  # fmt: skip
    args = parser.parse_args()
    from fanout import scratch_db

    for _ in range(args.rounds):
        tmp = Path(tempfile.mkdtemp(prefix="hiroba-bench-"))
        with scratch_db(args.db, tmp, args.pg_base) as url:
            run(url, tmp, args)


def run(url: str, tmp: Path, args: argparse.Namespace) -> None:
    """Build and queue every digest, then render the same digests with no database."""

    from sqlalchemy import func, select

    from hub import create_app, db, search
    from hub.db import Base, transaction, utcnow
    from hub.models import OutboxMessage, User
    from mailbridge import digest_activity, digest_job, digest_mail, digests, jobs, outbound

    engine = db.make_engine(url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        Base.metadata.create_all(conn)
        search.install(conn)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "MAIL_DOMAIN": "hub.test",
                      "BASE_URL": "https://hub.test", "INSTANCE_DIR": str(tmp),
                      "DIGEST_PROCESSES": args.processes})  # fmt: skip
    _setup(app, args.members, args.posts, args.channels)
    print(f"members: {args.members}  posts: {args.posts}  channels: {args.channels}  "
          f"database: {url.split(':')[0]}")  # fmt: skip

    now = utcnow()
    procs = digest_job.processes(app, args.members)
    t0 = time.perf_counter()
    cpu0 = time.process_time() + _children_cpu()
    queued = jobs.send_digests(app, now=now)
    ours = time.perf_counter() - t0
    cpu = time.process_time() + _children_cpu() - cpu0
    rss = _rss_mb()
    with transaction(app) as session:
        count = session.scalar(select(func.count()).select_from(OutboxMessage))
        size = session.scalar(select(func.avg(func.length(OutboxMessage.raw))))
        # The very digests the job built (collected again, untimed) for the render-only
        # baseline: each member's own content, rendered as the job renders it (channel
        # sections shared through the same cache), only without the database.
        users = list(session.scalars(select(User).order_by(User.id)))
        since = now - timedelta(days=1)
        act = digest_activity.load_activity(session, since, now)
        own = [(u, digests.collect_digest(session, u, since, now, activity=act)) for u in users]
    print(f"ours (job: collect, render, queue): {queued} digests ({count} rows, avg "
          f"{size or 0:.0f} bytes) in {ours:.1f} s on {procs} process(es), CPU {cpu:.1f} s; "
          f"peak RSS {rss:.0f} MB (this process)")  # fmt: skip

    t0 = time.perf_counter()
    cfg = app.config
    parts: dict = {}
    for user, digest in own:
        if digest is None:
            continue
        ctx = digest_mail.digest_context(app, user, digest, parts)
        ctx.update(recipient=user, prefs_url=outbound.prefs_url(app, user.id),
                   base_url=cfg["BASE_URL"], mail_domain=cfg["MAIL_DOMAIN"])  # fmt: skip
        outbound.render_email(app, "digest", user.locale, **ctx)
    render = time.perf_counter() - t0
    print(f"render only (same digests, templates and shared sections, no database): "
          f"{sum(d is not None for _, d in own)} digests in {render:.1f} s; "
          f"peak RSS {_rss_mb():.0f} MB")  # fmt: skip
    print(f"ratio render/ours: {render / ours:.2f} (target >= 0.5); ours {ours:.1f} s "
          f"(target <= 60 s)")  # fmt: skip
    db.engine_of(app).dispose()


if __name__ == "__main__":
    main()

"""Every setting Hiroba reads, with its default. Environment variables are HIROBA_<NAME>."""

from __future__ import annotations


class Defaults:
    """Defaults for every setting; ``create_app`` overrides them from HIROBA_* variables."""

    # Where the SQLite database, uploads and caught mail live in the embedded default.
    INSTANCE_DIR = "instance"
    # Empty means SQLite at INSTANCE_DIR/hiroba.db.
    DATABASE_URL = ""
    # Signs sessions, reply tokens and mailed links. Empty: a random key made once and kept in
    # INSTANCE_DIR/secret_key (hub/secret_key.py); there is no shipped key.
    SECRET_KEY = ""
    # Older keys still accepted for signed tokens and links (comma-separated), newest first.
    OLD_SECRET_KEYS = ""
    MAIL_DOMAIN = "hub.localhost"
    # The public web address used in mail; unset, the hub's own address on WEB_PORT.
    BASE_URL = ""
    WEB_HOST = "127.0.0.1"
    WEB_PORT = 8000
    WEB_THREADS = 8
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 2525
    # Largest message the SMTP intake accepts, in bytes (advertised with SIZE).
    SMTP_MAX_SIZE = 25 * 1024 * 1024
    SMTP_MAX_RECIPIENTS = 20
    # Threads that run the inbound pipeline for the SMTP intake; 0 = one on SQLite (its writes
    # take turns anyway), four on PostgreSQL.
    SMTP_WORKERS = 0
    # Worker processes that build the digests when many are due (0: one per core, at most 4),
    # and how many due digests make a process worth starting.
    DIGEST_PROCESSES = 0
    DIGEST_MEMBERS_PER_PROCESS = 1000
    # smtp://host:25, smtps://user:pass@host:465, smtp+starttls://...; empty = built-in catcher.
    RELAY_URL = ""
    # PostgreSQL: relay connections one worker keeps sending on at once (each with two mails
    # in flight). 1 for a relay that takes one connection per client.
    RELAY_CONNECTIONS = 2
    # After this many days the raw bytes of finished mail (sent outbox rows, inbound messages
    # with a final outcome, caught mail) are dropped; the rows stay. 0 keeps them forever.
    KEEP_MAIL_DAYS = 90
    # SQLite: a mail a dead worker left half-sent is sent again after this many seconds.
    OUTBOX_LEASE_SECONDS = 600
    # IMAP mode: imap://user:pass@host:143/INBOX or imaps://... ; empty = off.
    IMAP_URL = ""
    IMAP_DONE_FOLDER = "Hiroba/Done"
    IMAP_REJECTED_FOLDER = "Hiroba/Rejected"
    # On the first sync, skip mail older than this many days.
    IMAP_FIRST_SYNC_DAYS = 3
    # Sender authentication policy: off, monitor or enforce.
    SENDER_AUTH = "off"
    # The authserv-id whose Authentication-Results headers we trust (IMAP mode).
    TRUSTED_AUTHSERV_ID = ""
    # Upload and mail attachment limits.
    MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
    ALLOWED_ATTACHMENT_TYPES = (
        "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,"
        "application/zip,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
        "application/msword,application/vnd.ms-excel,application/vnd.ms-powerpoint"
    )
    MAGIC_LINK_MINUTES = 15
    # An invitation's sign-in link works this many days (once, like any sign-in link).
    INVITE_LINK_DAYS = 7
    LOGIN_RATE_LIMIT = "10 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    # Secure cookies follow BASE_URL: on whenever the hub is served over https.
    SESSION_COOKIE_SECURE = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = None
    REMEMBER_COOKIE_HTTPONLY = True
    # A form's CSRF token lives as long as the sign-in (it is bound to the session): with
    # Flask-WTF's one-hour default a reply written after a meeting was refused as expired.
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    DEFAULT_TIMEZONE = "Asia/Tokyo"
    # When bounces stop a member's mail (hub/services/bounces.py): hard bounces (the address
    # does not exist or is disabled) on this many different days within BOUNCE_WINDOW_DAYS, or
    # bounces of any kind (mailbox full, delays, policy refusals) on BOUNCE_SOFT_DAYS different
    # days (0: soft bounces alone never stop mail). Older bounces no longer count.
    BOUNCE_THRESHOLD = 3
    BOUNCE_SOFT_DAYS = 10
    BOUNCE_WINDOW_DAYS = 21
    # Posts flagged by this many members are hidden until reviewed.
    FLAG_HIDE_THRESHOLD = 3
    # Show the mail catcher page (only while RELAY_URL is empty: the embedded default).
    MAIL_CATCHER = True
    # Run the scheduler (event fan-out, outbox, digests) inside `hiroba serve`.
    SCHEDULER_INTERVAL_SECONDS = 5
    # Private channels: anyone, approval (admins approve requests), admins (only admins create).
    PRIVATE_CHANNEL_POLICY = "approval"

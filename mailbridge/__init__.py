"""Hiroba's mail bridge: mail in (SMTP intake, IMAP poller, pipeline) and mail out (outbox)."""

"""Why something was refused: one Reason enum shared by the web, the CLI and the mail bridge."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A refusal's cause; mailbridge.replies maps each to an SMTP reply and a mail template."""

    NOT_FOUND = "not_found"
    NOT_A_MEMBER = "not_a_member"
    PRIVATE_CHANNEL = "private_channel"
    INACTIVE_MEMBER = "inactive_member"
    UNKNOWN_SENDER = "unknown_sender"
    UNKNOWN_ADDRESS = "unknown_address"
    BAD_TOKEN = "bad_token"
    TOKEN_SENDER_MISMATCH = "token_sender_mismatch"
    EMPTY_BODY = "empty_body"
    EMPTY_TITLE = "empty_title"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    FORBIDDEN = "forbidden"
    ADMIN_ONLY = "admin_only"
    NOT_AUTHOR = "not_author"
    DUPLICATE_EMAIL = "duplicate_email"
    INVALID_EMAIL = "invalid_email"
    INVALID_SLUG = "invalid_slug"
    DUPLICATE_SLUG = "duplicate_slug"
    DUPLICATE_NAME = "duplicate_name"
    PURPOSE_REQUIRED = "purpose_required"
    REASON_REQUIRED = "reason_required"
    INVALID_VALUE = "invalid_value"
    CHANNEL_ARCHIVED = "channel_archived"
    POST_DELETED = "post_deleted"
    AUTH_FAILED = "auth_failed"
    AUTO_REPLY = "auto_reply"
    LOOP = "loop"
    BOUNCE = "bounce"
    DUPLICATE = "duplicate"
    NO_RECIPIENTS = "no_recipients"
    AMBIGUOUS_DIGEST_REPLY = "ambiguous_digest_reply"
    ALREADY_DONE = "already_done"
    NOT_PERMITTED_BY_POLICY = "not_permitted_by_policy"
    UNKNOWN_COMMAND = "unknown_command"
    LAST_OWNER = "last_owner"
    UNKNOWN_VALUE = "unknown_value"


class HubError(Exception):
    """A domain refusal carrying a Reason (and optional detail for people)."""

    status = 400

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class NotFound(HubError):
    status = 404


class Forbidden(HubError):
    status = 403


class Invalid(HubError):
    status = 422

# The part of Flask-WTF's CSRF protection that Hiroba uses, typed (an untyped ``exempt`` would
# make the view it marks untyped under mypy --strict).
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from werkzeug.exceptions import BadRequest

_F = TypeVar("_F", bound=Callable[..., Any])

class CSRFError(BadRequest): ...

class CSRFProtect:
    def __init__(self, app: Flask | None = ...) -> None: ...
    def init_app(self, app: Flask) -> None: ...
    def exempt(self, view: _F) -> _F: ...
    def __getattr__(self, name: str) -> Any: ...

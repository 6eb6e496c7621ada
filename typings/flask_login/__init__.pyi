# The part of Flask-Login that Hiroba uses, typed (the package ships no type information, and
# an untyped ``login_required`` would make every view it guards untyped under mypy --strict).
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask

_F = TypeVar("_F", bound=Callable[..., Any])

current_user: Any

class LoginManager:
    login_view: str | None
    login_message: str | None
    def __init__(self, app: Flask | None = ..., add_context_processor: bool = ...) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = ...) -> None: ...
    def user_loader(self, callback: _F) -> _F: ...
    def unauthorized_handler(self, callback: _F) -> _F: ...
    def __getattr__(self, name: str) -> Any: ...

def login_required(func: _F) -> _F: ...
def login_user(
    user: Any,
    remember: bool = ...,
    duration: timedelta | None = ...,
    force: bool = ...,
    fresh: bool = ...,
) -> bool: ...
def logout_user() -> bool: ...

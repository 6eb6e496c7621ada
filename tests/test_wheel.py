"""The wheel carries everything: installed non-editable in a fresh venv, it renders a page."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_renders_a_page(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wheel = next(wheels.glob("hiroba-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    # The dependencies come from the test venv (a plain path: its .pth files, such as the
    # editable install's finder, are not run), Hiroba itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    script = textwrap.dedent(
        f"""
        import hub
        assert hub.__file__.startswith({str(site)!r}), hub.__file__
        from hub import create_app, db
        from hub.db import Base
        app = create_app({{"TESTING": True, "DATABASE_URL": "sqlite:///{tmp_path}/w.db",
                           "BASE_URL": "http://hub.test", "INSTANCE_DIR": "{tmp_path}/i",
                           "WTF_CSRF_ENABLED": False}})
        from hub import migrate
        migrate.upgrade(db.engine_of(app))
        page = app.test_client().get("/login", headers={{"Accept-Language": "ja"}})
        assert page.status_code == 200, page.status_code
        print(page.get_data(as_text=True))
        """
    )
    out = subprocess.run([str(py), "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "<form" in out.stdout and "Hiroba" in out.stdout

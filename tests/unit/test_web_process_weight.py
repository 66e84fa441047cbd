"""A web process does not load the numerical libraries that only assignment runs, rankings and
draws use: they cost each web worker about 100 MB, and a worker that then streams an export of
80,000 reviews must stay well within 500 MB. And gunicorn's web workers take what loading the
app made out of the collector's walks, which paused pages by hundreds of milliseconds."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "ortools", "pandas", "sklearn")

PROGRAM = """
import json, sys
from competition import create_app
from config import Settings

create_app(Settings.from_env())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def last_json_line(program: str, tmp_path: Path, cwd: Path) -> Any:
    """Run ``program`` in a fresh Python with the app's embedded default settings; what it
    printed last, as JSON."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        UPLOAD_FOLDER=str(tmp_path / "uploads"),
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_web_app_starts_without_the_numerical_libraries(tmp_path):
    loaded = set(last_json_line(PROGRAM, tmp_path, cwd=tmp_path))
    assert "competition" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


HOOK = """
import gc, json, runpy
from competition import create_app
from config import Settings

create_app(Settings.from_env())
before = gc.get_freeze_count()
runpy.run_path("config/web_server.py")["post_worker_init"](None)
frozen, young = gc.get_freeze_count(), gc.get_threshold()[0]
print(json.dumps({"before": before, "frozen": frozen, "young": young}))
"""


def test_the_procfiles_web_workers_stop_walking_what_loading_the_app_made(tmp_path):
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line[:4] == "web:")
    assert "--config config/web_server.py" in web
    figures = last_json_line(HOOK, tmp_path, cwd=ROOT)
    # The app's modules, mappers and templates: tens of thousands of objects no collection walks.
    assert figures["before"] == 0
    assert figures["frozen"] > 50_000
    assert figures["young"] > 700

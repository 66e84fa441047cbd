"""A web process does not load the numerical libraries that only assignment runs, rankings and
draws use: they cost each web worker about 100 MB, and a worker that then streams an export of
80,000 reviews must stay well within 500 MB."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "ortools", "pandas", "sklearn")

PROGRAM = """
import json, sys
from competition import create_app
from config import Settings

create_app(Settings.from_env())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_web_app_starts_without_the_numerical_libraries(tmp_path):
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
        [sys.executable, "-c", PROGRAM],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "competition" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))

"""The product installs as a wheel and runs from anywhere: the wheel is built by executing the
Dockerfile's `wheel` stage (its COPY and RUN lines, here), installed into a fresh virtualenv outside the
repository, and `revcert run --snapshot` certifies from another directory. SQL, overrides, migrations,
DAGs, the plugin and the page's ECharts all come from inside the wheel.

The virtualenv reads its dependencies from the pinned lock `make install` already installed (a .pth
line), not a second copy of it: installing Airflow's two hundred packages again costs minutes of the
suite and proves what `make install` proves. `pip check` proves the wheel's declared requirements are
met by that lock; nothing of this checkout is on the path (the checkout's own editable install is a
.pth of that environment, which Python does not follow from here)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from revcert.snapshots.salesforce_generator import OrgShape, generate_org

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


def dockerfile_stage(name: str) -> list[str]:
    """The instructions of one build stage of the Dockerfile, continuation lines joined."""
    lines, stage = [], None
    for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if line.startswith("FROM "):
            stage = line.split(" AS ")[1] if " AS " in line else None
        elif stage == name and line and not line.startswith("#"):
            lines.append(line)
    return lines


def build_wheel_as_the_dockerfile_does(out: Path) -> Path:
    """The `wheel` stage run here: its WORKDIR is a scratch folder, the `page-assets` stage's /src is this
    checkout after `npm ci` (make install), and its /dist is `out`."""
    build = out / "src"
    build.mkdir(parents=True)
    for instruction in dockerfile_stage("wheel"):
        verb, *args = instruction.split()
        if verb == "WORKDIR":
            assert args == ["/src"], instruction
        elif verb == "COPY" and args[0] == "--from=page-assets":
            source, target = ROOT / args[1].removeprefix("/src/"), build / args[2]
            assert source.is_file(), f"{source} is missing: run `make install` (npm ci)"
            shutil.copyfile(source, target)
        elif verb == "COPY":
            source, target = ROOT / args[0], build / args[1]
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy(source, target)
        elif verb == "RUN":
            assert args[:2] == ["pip", "wheel"] and args[-2:] == ["/dist", "."], instruction
            built = subprocess.run([sys.executable, "-m", *args[:-2], str(out / "dist"), "."], cwd=build,
                                   capture_output=True, text=True)
            assert built.returncode == 0, built.stderr[-3000:]
        else:
            raise AssertionError(f"the test does not know how to run {instruction!r}")
    (wheel,) = (out / "dist").glob("revcert-*.whl")
    return wheel


def clean_environment(home: Path) -> dict[str, str]:
    """Nothing of this checkout or of the test session: no AIRFLOW_* or REVCERT_* setting, no PYTHONPATH."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AIRFLOW", "REVCERT", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "HOME": str(home)}


def test_the_wheel_installs_into_a_fresh_virtualenv_and_certifies_from_another_directory(tmp_path):
    wheel = build_wheel_as_the_dockerfile_does(tmp_path / "build")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (venv / "lib" / "python3.11" / "site-packages" / "pinned-lock.pth").write_text(sysconfig.get_paths()["purelib"])
    env = clean_environment(tmp_path / "home")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    installed = subprocess.run([*pip, "install", "--quiet", "--no-deps", str(wheel)], env=env, capture_output=True,
                               text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    checked = subprocess.run([*pip, "check"], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout[-3000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    python = str(venv / "bin" / "python")
    assets = subprocess.run([python, "-c", (
        "import revcert, pathlib; from fastapi.testclient import TestClient; from revcert.ui.app import create_app; "
        "print(pathlib.Path(revcert.__file__).parent); "
        "page = TestClient(create_app(lambda: 'postgresql://unused')); "
        "print(page.get('/static/echarts.min.js').status_code, page.get('/').status_code)")],
        cwd=elsewhere, env=env, capture_output=True, text=True)
    assert assets.returncode == 0, assets.stderr[-3000:]
    package, statuses = assets.stdout.split()[0], assets.stdout.split()[1:]
    assert package.startswith(str(venv)), package
    assert statuses == ["200", "200"], assets.stdout

    org = tmp_path / "org"
    generate_org(org, OrgShape(accounts=20, seed=11))
    try:
        run = subprocess.run([str(venv / "bin" / "revcert"), "run", "--snapshot", str(org), "--as-of", "2026-11-21"],
                             cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    finally:
        stopped = subprocess.run([str(venv / "bin" / "revcert"), "db", "stop"], cwd=elsewhere, env=env,
                                 capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.startswith("certified_mrr: success (certification 1, certified)"), run.stdout[-3000:]
    # Its state lives where it ran (REVCERT_HOME defaults to ./.revcert), nothing in the checkout.
    assert (elsewhere / ".revcert" / "pgdata").is_dir()

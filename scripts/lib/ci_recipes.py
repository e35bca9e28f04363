"""Runs the shell steps of Vetted's CI recipes locally (see scripts/checks/ci-recipes for how
the recipes are adapted). Exits non-zero when a recipe does not behave as documented."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WHEEL = str(Path(os.environ["VETTED_WHEEL"]).resolve())
TAG = "1.0.0"

# A plugin with an AWS key pair: critical secrets findings block it.
LEAK = '''import boto3


def client():
    return boto3.client(
        "s3",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLQ",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEQ",
    )
'''

# Stands in for qgis-plugin-ci: `package V` writes PLUGIN_DIR.V.zip with the plugin folder at
# its top, as qgis-plugin-ci does; `release V` only records the call.
FAKE_QGIS_PLUGIN_CI = '''#!/usr/bin/env python3
import os, sys, zipfile
from pathlib import Path
cmd, version = sys.argv[1], sys.argv[2]
plugin = os.environ["PLUGIN_DIR"]
if cmd == "package":
    with zipfile.ZipFile(f"{plugin}.{version}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(Path(plugin).rglob("*")):
            if p.is_file():
                z.write(p, p.as_posix())
elif cmd == "release":
    Path("released").write_text(version)
else:
    sys.exit(f"qgis-plugin-ci stand-in: unknown command {cmd}")
'''


class Failure(Exception):
    pass


def adapt(command):
    """The recipe's shell with pip pointed at the built wheel."""
    command = re.sub(r'"?vetted==\$\{?VETTED_VERSION\}?"?', f'"{WHEEL}"', command)
    if re.search(r"\bpip install\b", command):
        command = command.replace(" qgis-plugin-ci", "")
    return command


def workspace(tmp, plugin_dir, leak):
    """A sample plugin repository with its own venv and the qgis-plugin-ci stand-in."""
    repo = tmp / "repo"
    shutil.copytree(ROOT / "fixtures/plugins/hello_vetted", repo / plugin_dir)
    if leak:
        (repo / plugin_dir / "storage.py").write_text(LEAK)
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    shim = tmp / "shim"
    shim.mkdir()
    fake = shim / "qgis-plugin-ci"
    fake.write_text(FAKE_QGIS_PLUGIN_CI)
    fake.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{env_dir / 'bin'}:{shim}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INDEX"] = "1"  # only the local wheel: nothing may come from a registry here
    return repo, env


def values(mapping):
    out = {}
    for k, v in (mapping or {}).items():
        v = str(v)
        out[k] = "placeholder" if "${{" in v else v
    return out


def run_steps(name, steps, repo, env):
    """Runs (label, command, env) steps in order; returns the label, exit code and command of
    the first failing step, or None when all pass."""
    for label, command, step_env in steps:
        full_env = dict(env, **step_env)
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", adapt(command)],
            cwd=repo, env=full_env, capture_output=True, text=True,
        )
        print(f"  {name}: [{proc.returncode}] {label}")
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
            for line in tail:
                print(f"      {line}")
            return label, proc.returncode, command
    return None


def github_jobs(doc):
    base = values(doc.get("env"))
    for job_name, job in doc["jobs"].items():
        steps = []
        for step in job["steps"]:
            if "uses" in step:
                continue
            steps.append((step.get("name", step["run"][:40]), step["run"], values(step.get("env"))))
        yield job_name, dict(base, **values(job.get("env"))), steps


def gitlab_jobs(doc):
    base = values(doc.get("variables"))
    for job_name, job in doc.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        steps = [(line[:60], line, {}) for line in job["script"]]
        yield job_name, dict(base, **values(job.get("variables"))), steps


def check_recipe(path, leak):
    doc = yaml.safe_load(Path(path).read_text())
    github = "jobs" in doc
    jobs = list(github_jobs(doc) if github else gitlab_jobs(doc))
    if not jobs:
        raise Failure(f"{path}: no jobs found")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        plugin_dir = (doc.get("env") if github else doc.get("variables"))["PLUGIN_DIR"]
        repo, env = workspace(tmp, plugin_dir, leak)
        env.update(GITHUB_REF=f"refs/tags/{TAG}", GITHUB_REF_NAME=TAG, CI_COMMIT_TAG=TAG,
                   GITHUB_OUTPUT=str(tmp / "github_output"))
        failures = {}
        for job_name, job_env, steps in jobs:
            # Each job starts from a clean checkout, as on a CI runner.
            for leftover in ("released", "vetted.sarif", "vetted.json"):
                (repo / leftover).unlink(missing_ok=True)
            failures[job_name] = run_steps(f"{Path(path).name}:{job_name}", steps, repo, dict(env, **job_env))
            if not leak:
                if failures[job_name]:
                    raise Failure(f"{path}: job {job_name} failed on a clean plugin")
                if job_name in ("scan", "vetted"):
                    sarif = json.loads((repo / "vetted.sarif").read_text())
                    if sarif.get("version") != "2.1.0" or not sarif.get("runs"):
                        raise Failure(f"{path}: {job_name} wrote no SARIF run")
                if job_name == "release" and not (repo / "released").exists():
                    raise Failure(f"{path}: the release step was not reached for a clean plugin")
            else:
                failed = failures[job_name]
                if not failed or failed[1] != 1:
                    raise Failure(f"{path}: job {job_name} should fail with exit 1 on a blocked plugin, got {failed}")
                if job_name in ("scan", "vetted"):
                    if "--format" in failed[2]:
                        raise Failure(f"{path}: the report step itself failed ({failed[0]}); its upload would be skipped")
                    results = sum(len(r.get("results", [])) for r in json.loads((repo / "vetted.sarif").read_text())["runs"])
                    if results == 0:
                        raise Failure(f"{path}: the SARIF report of a blocked plugin has no results")
                if job_name == "release" and (repo / "released").exists():
                    raise Failure(f"{path}: a blocked plugin was released")
        print(f"ok: {path} ({'blocked' if leak else 'clean'} plugin)")


def main():
    bad = 0
    for path in sys.argv[1:]:
        for leak in (False, True):
            try:
                check_recipe(path, leak)
            except (Failure, OSError, KeyError, ValueError) as e:
                print(f"FAILED: {path} ({'blocked' if leak else 'clean'} plugin): {e!r}")
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

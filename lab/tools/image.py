"""The module image's /app without docker: the build context `.dockerignore` lets in, compiled as in the Dockerfile."""

import shutil
import subprocess
import sys
from pathlib import Path

from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[2]
# docker always sends these two with the context, for the daemon to read (COPY leaves them out)
BUILD_FILES = {"Dockerfile", ".dockerignore"}


def build_context(root: Path) -> set[str]:
    """The files `docker build` would send for `root`, read with docker-py's own `.dockerignore` matching."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {path for path in exclude_paths(str(root), patterns) if (root / path).is_file()}


def image_app(app: Path, root: Path = ROOT) -> Path:
    """Copy what `COPY . .` puts in /app into `app`, then `python -m compileall` it as the image build does."""
    for name in build_context(root) - BUILD_FILES:
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, app / name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
    return app

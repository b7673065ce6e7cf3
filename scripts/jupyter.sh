#!/usr/bin/env bash
# JupyterLab on the chapters, as `make lab` serves it: it opens on chapter 00 and asks
# the learner nothing (no news or update prompts: jupyter/overrides.json holds the
# kit's defaults, which a learner's own settings still override). Extra arguments go
# to `jupyter lab` (e.g. --ServerApp.port=8890 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${VENV:-.venv}/bin/python
[ -x "$python" ] || python=$(command -v python3)
prefix=$("$python" -c 'import sys; print(sys.prefix)')
install -D -m 0644 jupyter/overrides.json "$prefix/share/jupyter/lab/settings/overrides.json"
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root)
exec "$python" -m jupyterlab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 \
  --LabApp.default_url=/lab/tree/00-welcome.ipynb \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  "${root[@]}" "$@"

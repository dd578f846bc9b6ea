# Sourced by ./run and ./test from the repository root: `ensure_venv FILE` creates .venv (with
# $PYTHON, python3 by default) and installs the pinned FILE into it, again only when FILE or
# requirements.txt (which every requirements file includes) changed since; then compiles the
# model's pre-copy loop (migrationsim/native.py) when its source changed since the last build.
ensure_venv() {
  local requirements="$1" want stamp
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "${PYTHON:-python3}" -m venv .venv
  fi
  stamp=".venv/.$requirements.sha256"
  want="$(cat "$requirements" requirements.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing $requirements"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    echo "$want" > "$stamp"
  fi
  # without a C compiler the model runs from source, slower: say so and carry on
  if ! .venv/bin/python -m migrationsim.native_build --if-changed >/dev/null; then
    echo "==> the model runs from source (python -m migrationsim.native_build --status)" >&2
  fi
}

# Sourced by the checks that need the `vetted` wheel installed (scripts/checks/wheel,
# pre-commit, ci-recipes): builds the wheel from this checkout with scripts/build-wheel (a
# no-op compile when `cargo build --profile dist -p vetted-cli` is current) and installs it into a fresh venv.

# wheel_venv DIR: a new virtualenv in DIR with the freshly built wheel installed; sets $wheel.
wheel_venv() {
  local dir=$1
  "$root/scripts/build-wheel" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; echo "build-wheel failed"; return 1; }
  # The newest: a pip build from source (pre-commit) may leave a `linux_x86_64` wheel beside it.
  wheel=$(ls -t "$root"/target/wheels/vetted-*.whl | head -1)
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
}

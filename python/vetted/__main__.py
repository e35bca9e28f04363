"""``python -m vetted``: runs the native ``vetted`` binary that the same wheel installed.

Nothing is reimplemented here: the arguments go to the binary unchanged and its exit code is
ours, so ``python -m vetted scan plugin/`` behaves exactly like ``vetted scan plugin/``.
"""

import os
import sys
import sysconfig


def _binary():
    """The binary pip installed into the scripts folder of this interpreter's scheme.

    A ``--user`` install puts scripts in the user scheme, so both are tried before PATH.
    """
    exe = "vetted.exe" if os.name == "nt" else "vetted"
    schemes = [None]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        schemes.append(user_scheme)
    for scheme in schemes:
        folder = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        if folder and os.path.isfile(os.path.join(folder, exe)):
            return os.path.join(folder, exe)
    # A venv with a relocated scripts folder still has the binary next to the interpreter.
    beside = os.path.join(os.path.dirname(sys.executable), exe)
    if os.path.isfile(beside):
        return beside
    return None


def main():
    binary = _binary()
    if binary is None:
        sys.stderr.write("vetted: the native binary is not installed beside this package; reinstall the wheel\n")
        return 3
    if os.name == "nt":
        # Windows has no exec that keeps the console and exit code semantics; wait for the child.
        import subprocess

        return subprocess.call([binary, *sys.argv[1:]])
    os.execv(binary, [binary, *sys.argv[1:]])
    return 3  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())

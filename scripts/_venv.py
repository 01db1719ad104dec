"""Run an operator script with the project's venv when the interpreter that started it lacks the modules.

The scripts start with `#!/usr/bin/env python3`, which is whatever python3 comes first on PATH,
usually the machine's, without this project or its pinned packages. ``ensure()`` re-executes the
script with ``<repo>/.venv/bin/python`` (made by scripts/setup) in that case, and otherwise prints
one line and exits 2. Standard library only, and syntax old Pythons still parse, so that this
line, not a traceback, is what a too-old or bare interpreter shows.
"""

import importlib.util
import os
import sys

NOT_SET_UP = "the project is not set up; run scripts/setup first"


def _missing(modules):
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def ensure(prog, script, modules):
    """Return when ``modules`` can be imported; else re-exec ``script`` with the venv's Python, or exit 2."""
    if _missing(modules) is None:
        return
    root = os.path.dirname(os.path.dirname(os.path.realpath(script)))
    venv = os.path.join(root, ".venv")
    python = os.path.join(venv, "bin", "python")
    # The venv's python is a symlink to the base interpreter, so compare prefixes, not executables.
    running_in_venv = os.path.realpath(sys.prefix) == os.path.realpath(venv)
    if os.access(python, os.X_OK) and not running_in_venv:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(python, [python, os.path.realpath(script)] + sys.argv[1:])
    sys.stderr.write("%s: error: %s\n" % (prog, NOT_SET_UP))
    sys.exit(2)

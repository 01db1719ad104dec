"""The one place that runs ``oc`` or ``kubectl``: list arguments, no shell, captured output.

Reads (``get``, ``exec``) always run. Changes (``apply``, ``create``, ``delete``) are echoed on
stderr as ``+ kubectl ...`` before they run; with ``dry_run`` they are printed on stdout, with the
YAML they would send, and not run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


class KubectlError(Exception):
    """A kubectl/oc command failed; ``str()`` is one line, ``stderr`` the tool's own words."""

    def __init__(self, command: str, returncode: int | None, stderr: str, hint: str = ""):
        first = next((line.strip() for line in stderr.splitlines() if line.strip()), "no output")
        exit_text = f"exit {returncode}" if returncode is not None else "did not finish"
        super().__init__(f"`{command}` failed ({exit_text}): {first}{'; ' + hint if hint else ''}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class ToolNotFound(Exception):
    """Neither the --kubectl given nor oc/kubectl on PATH can be run."""


@dataclass(frozen=True)
class Result:
    command: str
    returncode: int
    stdout: str
    stderr: str


def find_kubectl(explicit: str | None) -> str:
    """``explicit`` if given (a path or a name on PATH), else ``oc`` when on PATH, else ``kubectl``."""
    if explicit:
        if os.sep in explicit:
            path = Path(explicit)
            if not path.is_file() or not os.access(path, os.X_OK):
                raise ToolNotFound(f"--kubectl: {explicit} is not an executable file; give the path of oc or kubectl")
            return str(path)
        found = shutil.which(explicit)
        if not found:
            raise ToolNotFound(f"--kubectl: {explicit} is not on PATH; give a full path or install it")
        return found
    for name in ("oc", "kubectl"):
        found = shutil.which(name)
        if found:
            return found
    raise ToolNotFound("neither oc nor kubectl is on PATH; install one (oc for OpenShift) or pass --kubectl PATH")


class Runner:
    def __init__(self, executable: str, *, context: str | None = None, dry_run: bool = False):
        self.executable = executable
        self.context = context
        self.dry_run = dry_run

    @property
    def name(self) -> str:
        return Path(self.executable).name

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [self.executable, *(["--context", self.context] if self.context else []), *args]

    def display(self, args: tuple[str, ...]) -> str:
        return shlex.join([self.name, *self.argv(args)[1:]])

    def _run(self, args: tuple[str, ...], stdin: str | None, timeout: float) -> Result:
        command = self.display(args)
        try:
            done = subprocess.run(self.argv(args), input=stdin if stdin is not None else "",
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError:
            raise KubectlError(command, None, f"{self.executable} not found", "pass --kubectl PATH") from None
        except PermissionError:
            raise KubectlError(command, None, f"{self.executable} is not executable", "pass --kubectl PATH") from None
        except subprocess.TimeoutExpired:
            raise KubectlError(command, None, f"no answer within {timeout:g} s",
                               "check the cluster connection (kubectl cluster-info)") from None
        return Result(command, done.returncode, done.stdout, done.stderr)

    def read(self, *args: str, timeout: float = 60) -> Result:
        """Run a command that changes nothing; raise ``KubectlError`` if it fails."""
        result = self._run(args, None, timeout)
        if result.returncode != 0:
            raise KubectlError(result.command, result.returncode, result.stderr, _hint(result.stderr))
        return result

    def get_json(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """The live object as a dict, or None when it does not exist."""
        ns = ("-n", namespace) if namespace else ()
        out = self.read("get", kind, name, *ns, "-o", "json", "--ignore-not-found").stdout.strip()
        if not out:
            return None
        try:
            obj = json.loads(out)
        except json.JSONDecodeError:
            raise KubectlError(self.display(("get", kind, name, *ns, "-o", "json")), 0,
                               f"answered with something that is not JSON: {out[:200]!r}") from None
        if obj.get("kind") == "List":
            items = obj.get("items") or []
            return items[0] if items else None
        return obj

    def exec(self, *args: str, timeout: float = 120) -> Result:
        """Run a command whose failure the caller interprets (``exec``)."""
        return self._run(args, None, timeout)

    def change(self, *args: str, stdin: str | None = None, timeout: float = 300) -> Result:
        """Run a command that changes the cluster, echoing it first; only print it in a dry run."""
        command = self.display(args)
        if self.dry_run:
            print(command + (" <<'EOF'\n" + stdin.rstrip("\n") + "\nEOF" if stdin else ""), file=sys.stdout)
            return Result(command, 0, "", "")
        print(f"+ {command}", file=sys.stderr)
        result = self._run(args, stdin, timeout)
        if result.stdout:
            sys.stdout.write(result.stdout)
        if result.returncode != 0:
            raise KubectlError(command, result.returncode, result.stderr, _hint(result.stderr))
        if result.stderr:
            sys.stderr.write(result.stderr)
        return result


def _hint(stderr: str) -> str:
    """The likely fix for a few errors that the cluster reports in its own terms."""
    if 'cannot create resource "namespaces"' in stderr:
        return "on OpenShift add --openshift (it asks for a project, as oc new-project does)"
    if "security context constraint" in stderr:
        return "on OpenShift add --openshift (the pod then sets no fixed UID and the SCC assigns one)"
    if "violates PodSecurity" in stderr:
        return "the namespace's Pod Security level refuses the pod; see the message above"
    if "Unable to connect to the server" in stderr or "connection refused" in stderr:
        return "check KUBECONFIG and --context"
    if "Unauthorized" in stderr or "You must be logged in" in stderr:
        return "log in to the cluster first (oc login / aws eks update-kubeconfig)"
    return ""

#!/usr/bin/env python3
"""After `scripts/cdk deploy SpokeStack --outputs-file outputs.json`: prove on the hub cluster that a
pod becomes the spoke role, in three commands:

    scripts/apply_manifests.py apply     # namespace, annotated service account, AWS CLI pod
    scripts/apply_manifests.py verify    # aws sts get-caller-identity in the pod; names a broken link
    scripts/apply_manifests.py cleanup   # deletes what apply created, puts back what it changed

`render` prints the manifests instead. The logic lives in oidc_federation.kubernetes. Any python3
can start it: without the project's packages it re-runs itself with the venv scripts/setup made.
"""

import os
import sys

PROG = "apply_manifests"

if __name__ == "__main__":  # before the imports below, which need the project's venv
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import _venv

    _venv.ensure(PROG, __file__, ("oidc_federation", "yaml"))

from oidc_federation import kubernetes  # noqa: E402


def main(argv=None):
    return kubernetes.main(argv)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""After `scripts/cdk deploy SpokeStack --outputs-file outputs.json`: prove on the hub cluster that a
pod becomes the spoke role, in three commands:

    scripts/apply_manifests.py apply     # namespace, annotated service account, AWS CLI pod
    scripts/apply_manifests.py verify    # aws sts get-caller-identity in the pod; names a broken link
    scripts/apply_manifests.py cleanup   # deletes what apply created

`render` prints the manifests instead. The logic lives in oidc_federation.kubernetes; run with the
project's venv (scripts/setup), or any Python with PyYAML.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from oidc_federation import kubernetes
except ImportError:  # not installed: use the checkout's source root (`constructs/` is the package's home)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "constructs"))
    from oidc_federation import kubernetes


def main(argv: list[str] | None = None) -> int:
    return kubernetes.main(argv)


if __name__ == "__main__":
    sys.exit(main())

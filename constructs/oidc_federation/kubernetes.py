"""``scripts/apply_manifests.py``: after SpokeStack is deployed, prove on the cluster that a pod of
the hub cluster becomes the spoke role.

``render`` writes the objects as YAML; ``apply`` applies them with ``oc`` or ``kubectl`` and
re-creates a test pod made for another role; ``verify`` waits for the pod, runs
``aws sts get-caller-identity`` in it and names the first broken link with its fix; ``cleanup``
deletes what apply created. Inputs: the CDK app's config file and ``cdk deploy --outputs-file``;
every value is checked before anything runs. Errors are one line (``apply_manifests: error: ...``),
exit 2 for a bad command line, 1 for anything else; ``--debug`` shows the traceback.

Beside it: ``kube_inputs`` (config + outputs + flags -> Plan), ``kube_manifests`` (the objects),
``kube_runner`` (the one place that runs oc/kubectl), ``kube_diagnosis`` (verify's verdicts).

Ownership: cleanup deletes a namespace or service account only when ``apply`` created it (the
``spoke-oidc-federation/created-by-apply`` annotation, never written by ``render``); on a service
account that existed before, apply records the annotations it changes and cleanup puts them back.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from pathlib import Path

from . import kube_diagnosis as kd
from . import kube_manifests as km
from . import validation as v
from .config import ConfigError
from .kube_inputs import PROG, Failure, Plan, UsageError, make_plan, note, warn
from .kube_runner import KubectlError, Runner, ToolNotFound, find_kubectl

DEFAULT_CONFIG = "config/example.yaml"
DEFAULT_OUTPUTS = "outputs.json"
DEFAULT_STACK = "SpokeStack"
DEFAULT_TIMEOUT = 180.0
# The pod identity webhook reads service accounts from an informer cache, a moment behind the API:
# a pod created right after its service account's annotation can miss it. apply waits until the API
# shows the annotations (at most SA_VISIBLE_TIMEOUT), then DEFAULT_SETTLE more for the cache.
SA_VISIBLE_TIMEOUT = 10.0
SA_POLL_INTERVAL = 0.5
DEFAULT_SETTLE = 2.0


# ---------------------------------------------------------------------------------------------
# Command line


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line like ours (it prints the usage block otherwise)."""

    def error(self, message: str):
        print(f"{PROG}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _positive_int(low: int, high: int, what: str):
    def parse(text: str) -> int:
        # int() would also take " 600", "6_00" and non-ASCII digits.
        if not re.fullmatch(r"[0-9]+", text, re.ASCII):
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; {what}")
        return value
    return parse


def _seconds(text: str) -> float:
    """More than 0, finite: float() alone takes nan and inf, which no wait can use."""
    try:
        return v.seconds(text)
    except v.Invalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds_or_zero(text: str) -> float:
    try:
        return v.seconds(text, zero=True)
    except v.Invalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    src = common.add_argument_group("inputs (nothing has to be copied by hand)")
    src.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE",
                     help=f"the CDK app's federation config (default {DEFAULT_CONFIG})")
    src.add_argument("--outputs", default=DEFAULT_OUTPUTS, metavar="FILE",
                     help=f"the file `scripts/cdk deploy SpokeStack --outputs-file FILE` wrote (default {DEFAULT_OUTPUTS})")
    src.add_argument("--stack", default=DEFAULT_STACK, metavar="NAME",
                     help=f"the stack's name in the outputs file (default {DEFAULT_STACK})")
    src.add_argument("--role", metavar="NAME", help="the config's role to test (default: the only one)")
    src.add_argument("--all-roles", action="store_true", help="test every role with every service account it trusts")
    over = common.add_argument_group("overrides (default: from the config and the outputs file)")
    over.add_argument("--role-arn", metavar="ARN", help="the role's ARN (then the outputs file is not read)")
    over.add_argument("--namespace", metavar="NS", help="the namespace (default: the role's first service account's)")
    over.add_argument("--service-account", metavar="NAME", help="the service account (default: the role's first)")
    over.add_argument("--region", metavar="REGION", help="the pod's AWS_REGION (default: spoke.region)")
    over.add_argument("--audience", metavar="AUD", help="the token audience (default: the role's audience)")
    pod = common.add_argument_group("the objects")
    pod.add_argument("--openshift", action="store_true",
                     help="OpenShift: a ProjectRequest (as oc new-project) instead of a Namespace, and no fixed UID (the SCC assigns one)")
    pod.add_argument("--projected-token", action="store_true",
                     help="for clusters without the pod identity webhook: the pod mounts the token and sets AWS_ROLE_ARN itself")
    pod.add_argument("--token-expiration", metavar="SECONDS",
                     type=_positive_int(km.MIN_TOKEN_EXPIRATION, km.MAX_TOKEN_EXPIRATION,
                                        f"use {km.MIN_TOKEN_EXPIRATION} (Kubernetes' minimum) to {km.MAX_TOKEN_EXPIRATION} (24 h)"),
                     help="the token's lifetime (eks.amazonaws.com/token-expiration, or the projected volume's expirationSeconds)")
    pod.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE",
                     help="an extra service-account annotation (repeatable); near misses of the webhook's keys are refused")
    pod.add_argument("--image", default=km.DEFAULT_IMAGE, metavar="IMAGE", help=f"the AWS CLI image (default {km.DEFAULT_IMAGE})")
    pod.add_argument("--allow-system-namespace", action="store_true",
                     help="allow kube-*, openshift and openshift-* namespaces (refused by default: a service account there "
                          "may be one the cluster's own pods use)")
    pod.add_argument("--pod-lifetime", default=km.DEFAULT_LIFETIME, metavar="SECONDS",
                     type=_positive_int(60, 7 * 86400, "use 60 to 604800"),
                     help=f"the test pod ends by itself after this long (default {km.DEFAULT_LIFETIME})")
    cluster = argparse.ArgumentParser(add_help=False)
    group = cluster.add_argument_group("the cluster")
    group.add_argument("--kubectl", metavar="PATH", help="oc or kubectl to run (default: oc if on PATH, else kubectl)")
    group.add_argument("--context", metavar="NAME", help="the kubeconfig context, passed to every command")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show the traceback of an error")

    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="After `scripts/cdk deploy SpokeStack --outputs-file outputs.json`: prove on the hub cluster\n"
                    "that a pod of a trusted service account becomes the spoke role.",
        epilog="usual run:  apply, then verify, then cleanup (same flags each time); SUBCOMMAND --help for the flags")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{render,apply,verify,cleanup}")
    render = sub.add_parser("render", parents=[common, debug], help="write the manifests as YAML")
    render.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    apply = sub.add_parser("apply", parents=[common, cluster, debug], help="apply them; re-create a stale test pod")
    apply.add_argument("--dry-run", action="store_true", help="print the changing commands instead of running them")
    apply.add_argument("--settle", type=_seconds_or_zero, default=DEFAULT_SETTLE, metavar="SECONDS",
                       help="after changing a service account, wait this long before creating its pod: the pod identity "
                            f"webhook sees service accounts through a cache (default {DEFAULT_SETTLE:g})")
    verify = sub.add_parser("verify", parents=[common, cluster, debug], help="check that the pod becomes the spoke role")
    verify.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"how long to wait for the pod to be Ready (default {DEFAULT_TIMEOUT:g})")
    verify.add_argument("--poll-interval", type=_seconds, default=2.0, help=argparse.SUPPRESS)
    cleanup = sub.add_parser("cleanup", parents=[common, cluster, debug],
                             help="delete what apply created; put back the annotations it changed")
    cleanup.add_argument("--dry-run", action="store_true", help="print the deleting commands instead of running them")
    cleanup.add_argument("--keep-namespace", action="store_true", help="keep the namespace (project) even if apply created it")
    return parser


def make_runner(args) -> Runner:
    runner = Runner(find_kubectl(args.kubectl), context=args.context, dry_run=getattr(args, "dry_run", False))
    if runner.name == "oc" and not args.openshift and args.command == "apply":
        warn("using oc without --openshift: the pod runs as UID "
             f"{km.NON_OPENSHIFT_UID}, which OpenShift's restricted-v2 SCC refuses; add --openshift on OpenShift")
    return runner


# ---------------------------------------------------------------------------------------------
# Subcommands


def cmd_render(args) -> int:
    plan = make_plan(args)
    docs = km.render(list(plan.targets), plan.options)
    header = [f"Rendered by scripts/apply_manifests.py from {plan.config.source}"
              + ("" if args.role_arn else f" and {args.outputs} (stack {args.stack})") + "."]
    for t in plan.targets:
        header.append(f"{t.label}: role {t.role_arn}, audience {t.audience}, region {t.region}")
    if plan.options.openshift:
        header.append("A ProjectRequest can be created (oc create -f), not applied; `apply_manifests.py apply --openshift` "
                      "creates it only when the project does not exist.")
    header.append("`apply_manifests.py cleanup` removes only what `apply_manifests.py apply` created: objects made from "
                  "this file by hand stay, delete them yourself (a namespace or service account only if it did not exist before).")
    text = km.to_yaml(docs, "\n".join(header))
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise Failure(f"--output: cannot write {args.output!r}: {exc.strerror}") from None
        note(f"wrote {len(docs)} manifests to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def stale_reason(live: dict, desired: dict, target: km.Target, options: km.PodOptions) -> str | None:
    """Why the live test pod must be re-created to test ``desired``, or None when it still fits."""
    metadata = live.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    if metadata.get("deletionTimestamp"):
        return "it is being deleted"
    recorded = annotations.get(km.POD_ROLE_ARN)
    if recorded != target.role_arn:
        return f"it was made for role {recorded or '(none recorded)'}, now {target.role_arn}"
    if annotations.get(km.POD_AUDIENCE) != target.audience:
        return f"it was made for audience {annotations.get(km.POD_AUDIENCE)!r}, now {target.audience!r}"
    if annotations.get(km.POD_SPEC_HASH) != desired["metadata"]["annotations"][km.POD_SPEC_HASH]:
        return "its spec differs from the one rendered now (image, mode, region or lifetime) and a pod's spec cannot change in place"
    phase = (live.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return f"it has ended (phase {phase})"
    if not options.projected_token:
        injected = kd.pod_env(live).get("AWS_ROLE_ARN")
        if injected is None:
            return ("the webhook did not inject AWS_ROLE_ARN into it (it was started before the service account carried "
                    f"{km.ROLE_ARN_KEY}, or before the webhook's cache of service accounts saw it, and the webhook only "
                    "changes pods as they are created)")
        if injected != target.role_arn:
            return f"the webhook injected AWS_ROLE_ARN={injected} into it, now {target.role_arn}"
    return None


def _live_service_account_notes(live: dict, target: km.Target) -> None:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    for key in annotations:
        near = v.webhook_annotation_near_miss(key)
        if near:
            warn(f"service account {target.namespace}/{target.service_account} has annotation {key!r}, which the webhook "
                 f"ignores (did you mean {near!r}?); remove it: kubectl annotate serviceaccount -n {target.namespace} "
                 f"{target.service_account} {key}-")
    current = annotations.get(km.ROLE_ARN_KEY)
    if current and current != target.role_arn:
        note(f"service account {target.namespace}/{target.service_account}: {km.ROLE_ARN_KEY} changes from {current} to {target.role_arn}")


def _webhook_annotations(annotations: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in annotations.items() if key in v.WEBHOOK_ANNOTATIONS}


def _differs(live: dict | None, desired: dict[str, str]) -> bool:
    current = km.annotations_of(live)
    return any(current.get(key) != value for key, value in desired.items())


def cmd_apply(args) -> int:
    plan = make_plan(args)
    runner = make_runner(args)
    options = plan.options
    namespaces = list(dict.fromkeys(t.namespace for t in plan.targets))
    live_ns = {ns: runner.get_json("namespace", ns) for ns in namespaces}
    live_sa: dict[km.Target, dict | None] = {}
    live_pod: dict[km.Target, dict | None] = {}
    for t in plan.targets:
        if live_ns[t.namespace] is not None:
            live_sa[t] = runner.get_json("serviceaccount", t.service_account, t.namespace)
            live_pod[t] = runner.get_json("pod", t.pod_name, t.namespace)

    # Ownership is recorded here, and only on what this run creates (see the module docstring).
    first: list[dict] = []
    for ns in namespaces:
        live = live_ns[ns]
        if live is None:
            if options.openshift:
                runner.change("create", "-f", "-", stdin=km.to_yaml([km.project_request_manifest(ns, created_by_apply=True)]))
            else:
                first.append(km.namespace_manifest(ns, created_by_apply=True))
        elif km.created_by_apply(live):
            if not options.openshift:
                first.append(km.namespace_manifest(ns, created_by_apply=True))
        else:
            note(f"namespace {ns} exists and was not created by this script: using it; cleanup leaves it")
    annotate: list[tuple[km.Target, dict[str, str | None]]] = []
    expected: dict[km.Target, dict[str, str]] = {}  # the webhook annotations each service account must show
    changed: set[km.Target] = set()  # service accounts whose webhook annotations this run changes
    for t in plan.targets:
        sa = live_sa.get(t)
        if sa is not None:
            _live_service_account_notes(sa, t)
        desired = km.service_account_annotations(t, options, explicit_audience=km.AUDIENCE_KEY in km.annotations_of(sa))
        expected[t] = _webhook_annotations(desired)
        if _differs(sa, expected[t]):
            changed.add(t)
        if sa is None or km.created_by_apply(sa):
            first.append(km.service_account_manifest(t, options, created_by_apply=True,
                                                     explicit_audience=km.AUDIENCE_KEY in km.annotations_of(sa)))
            continue
        # Not ours: annotate it in place (kubectl apply would also leave its last-applied-configuration
        # on it), recording what each changed key held so that cleanup can put it back.
        try:
            changes = km.adopt_annotations(sa, desired)
        except km.BadRecord as exc:
            raise Failure(f"service account {t.namespace}/{t.service_account}: {exc}; remove it (kubectl annotate serviceaccount "
                          f"-n {t.namespace} {t.service_account} {km.PREVIOUS_ANNOTATIONS}-) after checking its annotations by hand") from None
        note(f"service account {t.namespace}/{t.service_account} exists and was not created by this script: "
             + ("annotating it; cleanup puts back the annotations it changes" if changes else "it already carries the annotations")
             + " and leaves it")
        if changes:
            annotate.append((t, changes))

    pods = [km.pod_manifest(t, options) for t in plan.targets]
    creating: list[km.Target] = []
    for t, desired in zip(plan.targets, pods):
        live = live_pod.get(t)
        if live is None:
            creating.append(t)
            continue
        if not km.has_our_label(live):
            raise Failure(f"pod {t.namespace}/{t.pod_name} exists and was not created by this script; delete or rename it first")
        reason = stale_reason(live, desired, t, options)
        if reason:
            note(f"re-creating pod {t.namespace}/{t.pod_name}: {reason}")
            runner.change("delete", "pod", t.pod_name, "-n", t.namespace, "--wait")
            creating.append(t)
    # The service accounts first, the pods after: the webhook reads a pod's service account (from
    # its cache) as the pod is created, so the annotations must be there, and seen, before.
    if first:
        runner.change("apply", "-f", "-", stdin=km.to_yaml(first))
    for t, changes in annotate:
        runner.change(*km.annotate_args(t, changes))
    if not runner.dry_run and not options.projected_token and creating:
        wait_for_service_accounts(runner, {t: expected[t] for t in creating},
                                  settle=args.settle if any(t in changed for t in creating) else 0)
    runner.change("apply", "-f", "-", stdin=km.to_yaml(pods))
    if not runner.dry_run:
        note(f"applied; next: {PROG} verify with the same flags")
    return 0


def wait_for_service_accounts(runner: Runner, expected: dict[km.Target, dict[str, str]], *, settle: float) -> None:
    """Poll until the API shows each service account's webhook annotations, then wait ``settle`` seconds
    for the webhook's informer cache to see them too."""
    start = time.monotonic()
    pending = dict(expected)
    seen: dict[km.Target, dict] = {}
    announced = False
    while True:
        for t in list(pending):
            seen[t] = km.annotations_of(runner.get_json("serviceaccount", t.service_account, t.namespace))
            if all(seen[t].get(key) == value for key, value in pending[t].items()):
                del pending[t]
        if not pending:
            break
        elapsed = time.monotonic() - start
        t = next(iter(pending))
        missing = ", ".join(f"{key}={value}" for key, value in pending[t].items() if seen[t].get(key) != value)
        if elapsed >= SA_VISIBLE_TIMEOUT:
            raise Failure(f"service account {t.namespace}/{t.service_account} does not show {missing} {SA_VISIBLE_TIMEOUT:g} s "
                          "after apply set it, so a pod created now would get no web identity; something changes it back "
                          f"(a controller or GitOps tool?): see kubectl get serviceaccount -n {t.namespace} {t.service_account} -o yaml")
        if not announced:
            note(f"waiting for service account {t.namespace}/{t.service_account} to show {missing} (up to {SA_VISIBLE_TIMEOUT:g} s)")
            announced = True
        time.sleep(SA_POLL_INTERVAL)
    if settle > 0:
        note(f"waiting {settle:g} s before creating the pod: the pod identity webhook sees service accounts through a "
             "cache, a moment behind (--settle SECONDS)")
        time.sleep(settle)


def _progress(target: km.Target, text: str, *, final: bool, tty: bool) -> None:
    line = f"{PROG}: pod {target.namespace}/{target.pod_name}: {text}"
    if tty:
        sys.stderr.write("\r\033[K" + line + ("\n" if final else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def wait_ready(runner: Runner, target: km.Target, options: km.PodOptions, timeout: float, interval: float) -> tuple[dict | None, kd.Diagnosis | None]:
    """Poll the pod until Ready, showing elapsed seconds and phase; a Diagnosis when it will not be."""
    tty = sys.stderr.isatty()
    start = time.monotonic()
    last_text, last_shown = None, -1e9
    while True:
        pod = runner.get_json("pod", target.pod_name, target.namespace)
        elapsed = time.monotonic() - start
        if pod is None:
            return None, kd.Diagnosis(-1, f"pod {target.namespace}/{target.pod_name} does not exist",
                                      fix=f"run `{PROG} apply` with the same flags first")
        state = kd.pod_state(pod)
        if state.ready:
            _progress(target, f"Ready after {elapsed:.0f} s", final=True, tty=tty)
            return pod, None
        if state.failed:
            _progress(target, f"{state.describe()} after {elapsed:.0f} s", final=True, tty=tty)
            details = (state.message,) if state.message else ()
            return pod, kd.Diagnosis(-1, f"pod {target.namespace}/{target.pod_name} will not become Ready: {state.describe()}",
                                     details, kd.not_ready_fix(state, target, options.image))
        text = f"waiting for Ready: {elapsed:.0f} s of {timeout:g}, {state.describe()}"
        if tty or state.describe() != last_text or elapsed - last_shown >= 10:
            _progress(target, text, final=False, tty=tty)
            last_text, last_shown = state.describe(), elapsed
        if elapsed >= timeout:
            if tty:
                sys.stderr.write("\n")
            details = (state.message,) if state.message else ()
            return pod, kd.Diagnosis(-1, f"pod {target.namespace}/{target.pod_name} is not Ready after {timeout:g} s ({state.describe()})",
                                     details, f"{kd.not_ready_fix(state, target, options.image)}; or wait longer with --timeout SECONDS")
        time.sleep(min(interval, max(timeout - elapsed, 0.01)))


def verify_target(runner: Runner, plan: Plan, target: km.Target, args) -> kd.Diagnosis:
    pod, problem = wait_ready(runner, target, plan.options, args.timeout, args.poll_interval)
    if problem:
        return problem
    injection = kd.check_injection(
        pod, target, projected=plan.options.projected_token,
        service_account=lambda: runner.get_json("serviceaccount", target.service_account, target.namespace))
    if injection:
        return injection
    result = runner.exec("exec", target.pod_name, "-n", target.namespace, "-c", km.CONTAINER, "--",
                         "aws", "sts", "get-caller-identity", "--output", "json")
    return kd.classify(result.returncode, result.stdout, result.stderr, target,
                       issuer_url=plan.config.hub.issuer_url,
                       client_ids=plan.config.spoke.provider.client_ids,
                       audience=kd.token_audience(pod), config_source=plan.config.source)


def cmd_verify(args) -> int:
    plan = make_plan(args)
    runner = make_runner(args)
    broken = 0
    for target in plan.targets:
        diagnosis = verify_target(runner, plan, target, args)
        if diagnosis.ok:
            print(f"verify: ok: {diagnosis.summary} (role {target.role_arn})")
            continue
        broken += 1
        where = f"verify {target.label} (role {target.role_name})"
        if diagnosis.link > 0:
            print(f"{PROG}: error: {where}: link {diagnosis.link} of {len(kd.LINKS)} is broken: {diagnosis.summary}", file=sys.stderr)
        else:
            print(f"{PROG}: error: {where}: {diagnosis.summary}", file=sys.stderr)
        for line in diagnosis.details:
            print(f"  {line}", file=sys.stderr)
        if diagnosis.fix:
            print(f"  fix: {diagnosis.fix}", file=sys.stderr)
    return 1 if broken else 0


def cmd_cleanup(args) -> int:
    plan = make_plan(args)
    runner = make_runner(args)
    for t in plan.targets:
        runner.change("delete", "pod", t.pod_name, "-n", t.namespace, "--ignore-not-found", "--wait")
    for t in plan.targets:
        sa = runner.get_json("serviceaccount", t.service_account, t.namespace)
        if sa is None:
            continue
        if km.created_by_apply(sa):
            runner.change("delete", "serviceaccount", t.service_account, "-n", t.namespace, "--ignore-not-found")
            continue
        try:
            changes, changed_since = km.restore_annotations(sa)
        except km.BadRecord as exc:
            raise Failure(f"service account {t.namespace}/{t.service_account}: {exc}; put its annotations back by hand, then "
                          f"kubectl annotate serviceaccount -n {t.namespace} {t.service_account} {km.PREVIOUS_ANNOTATIONS}-") from None
        for key, now, applied in changed_since:
            note(f"left annotation {key} on service account {t.namespace}/{t.service_account} as it is: it changed since "
                 f"apply set it to {applied!r} (now {now!r})")
        if changes:
            runner.change(*km.annotate_args(t, changes))
            note(f"left service account {t.namespace}/{t.service_account}: it existed before apply; the annotations apply "
                 "changed are back as they were")
        else:
            note(f"left service account {t.namespace}/{t.service_account}: it existed before apply (no "
                 f"{km.CREATED_BY_APPLY} annotation) and has no record of annotations apply changed")
    if args.keep_namespace:
        return 0
    for ns in dict.fromkeys(t.namespace for t in plan.targets):
        live = runner.get_json("namespace", ns)
        if live is None:
            continue
        if km.created_by_apply(live):
            kind = "project" if plan.options.openshift else "namespace"
            runner.change("delete", kind, ns, "--ignore-not-found", "--wait")
        elif km.has_our_label(live):  # the label without the annotation: a rendered file applied by hand
            note(f"left namespace {ns}: it was not created by this script (it has the {km.MANAGED_BY_LABEL} label, as rendered "
                 f"manifests had, but not the {km.CREATED_BY_APPLY} annotation apply sets); delete it yourself if it was made for this test")
        else:
            note(f"left namespace {ns}: it was not created by this script")
    return 0


COMMANDS = {"render": cmd_render, "apply": cmd_apply, "verify": cmd_verify, "cleanup": cmd_cleanup}


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns the exit code (0 ok, 1 failure, 2 bad command line)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        _error(args, str(exc))
        return 2
    except ConfigError as exc:
        for line in exc.errors:
            _error(args, line)
        return 1
    except KubectlError as exc:
        _error(args, str(exc))
        extra = [line for line in exc.stderr.strip().splitlines()[1:] if line.strip()]
        for line in extra:
            print(f"  {line}", file=sys.stderr)
        return 1
    except (Failure, ToolNotFound) as exc:
        _error(args, str(exc))
        return 1
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort keeps the one-line contract
        if args.debug:
            traceback.print_exc()
        print(f"{PROG}: error: unexpected {type(exc).__name__}: {exc}"
              + ("" if args.debug else "; rerun with --debug for the traceback"), file=sys.stderr)
        return 1


def _error(args, message: str) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()
    print(f"{PROG}: error: {message}", file=sys.stderr)

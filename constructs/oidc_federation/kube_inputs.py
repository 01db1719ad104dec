"""The inputs of ``scripts/apply_manifests.py``: the CDK app's config, ``cdk deploy --outputs-file``
and the command-line overrides, checked together into a ``Plan`` before any command runs.

A bad command-line value raises ``UsageError`` (exit 2); a bad file, a stack without the role or an
ARN in the wrong account raises ``Failure`` (exit 1). Each message is one line: what, the value, the fix.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import kube_manifests as km
from . import validation as v
from .config import ConfigError, FederationConfig, RoleSpec, ServiceAccount, load_config
from .validation import Invalid

PROG = "apply_manifests"
PROVIDER_ARN = re.compile(r"^arn:(%s):iam::(\d{12}):oidc-provider/(.+)\Z" % "|".join(v.PARTITIONS), re.ASCII)
# What an output holding a role ARN looks like, well formed or not: to name a malformed one (CASES.md 12).
ROLE_ARN_LIKE = re.compile(r"^\s*arn:.*:role/", re.ASCII | re.DOTALL)


class UsageError(Exception):
    """A bad command-line value: exit 2."""


class Failure(Exception):
    """A bad file, a missing stack or role, a failed check: exit 1."""


@dataclass(frozen=True)
class Plan:
    config: FederationConfig
    targets: tuple[km.Target, ...]
    options: km.PodOptions


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _flag(flag: str, check, value):
    try:
        return check(value)
    except Invalid as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _annotations(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``--annotation KEY=VALUE`` pairs, refusing near misses of the webhook's keys (CASES.md 12)."""
    flags_for = {km.ROLE_ARN_KEY: "--role-arn (or the outputs file)", km.AUDIENCE_KEY: "--audience",
                 km.TOKEN_EXPIRATION_KEY: "--token-expiration", km.STS_REGIONAL_KEY: "nothing (it is always \"true\")"}
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--annotation: {item!r} is not KEY=VALUE; write e.g. --annotation example.com/owner=team-a")
        key = key.strip()
        if key in flags_for:
            raise UsageError(f"--annotation: {key!r} is set by this script; use {flags_for[key]}")
        near = v.webhook_annotation_near_miss(key)
        if near:
            raise UsageError(f"--annotation: key {key!r} is not one the pod identity webhook reads, so it would "
                             f"silently inject nothing; did you mean {near!r}? (set by this script: use {flags_for[near]})")
        _flag("--annotation", v.annotation_key, key)
        if key.startswith(v.WEBHOOK_ANNOTATION_DOMAIN + "/"):
            raise UsageError(f"--annotation: {key!r} is not a service-account annotation the webhook reads "
                             f"({', '.join(v.WEBHOOK_ANNOTATIONS)}); remove it")
        if key.startswith(km.OWN_PREFIX):
            raise UsageError(f"--annotation: {key!r} is one of this script's own records ({km.OWN_PREFIX}...); remove it")
        if key in out:
            raise UsageError(f"--annotation: {key!r} is given twice; keep one")
        out[key] = value
    return tuple(out.items())


def _role_arn_flag(value: str) -> str:
    try:
        return v.role_arn(value)
    except Invalid as exc:
        problem = v.role_arn_hint(value)
        raise UsageError(f"--role-arn: {exc}{' (' + problem + ')' if problem else ''}") from None


def load_outputs(path: str, stack: str) -> dict:
    """The stack's outputs from ``cdk deploy --outputs-file``: ``{"Stack": {"Key": "value"}}``."""
    p = Path(path)
    if p.is_dir():
        raise Failure(f"--outputs {path!r} is a directory; give the JSON file `scripts/cdk deploy {stack} --outputs-file FILE` "
                      "wrote, or give --role-arn ARN")
    if not p.is_file():
        raise Failure(f"outputs file {path!r} not found; deploy with `scripts/cdk deploy {stack} --outputs-file {path}` "
                      f"first, pass --outputs FILE, or give --role-arn ARN")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Failure(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); it should be the file "
                      "`cdk deploy --outputs-file` wrote") from None
    except UnicodeDecodeError:
        raise Failure(f"{path}: not UTF-8 text; it should be the file `cdk deploy --outputs-file` wrote") from None
    if not isinstance(data, dict) or not all(isinstance(o, dict) for o in data.values()):
        raise Failure(f"{path}: expected {{\"StackName\": {{\"OutputKey\": \"value\"}}}} as `cdk deploy --outputs-file` writes it")
    if stack not in data:
        others = ", ".join(sorted(data)) or "none"
        # A typo (SpokeStak, spokestack: 2 edits at most) gets "did you mean"; another name
        # (SpokeStackDev) may be a stack not deployed yet.
        near = sorted((v.edit_distance(stack.lower(), name.lower()), name) for name in data)
        if near and near[0][0] <= 2:
            hint = f"did you mean --stack {near[0][1]}?"
        elif len(data) == 1:
            hint = f"pass --stack {sorted(data)[0]}, or deploy it with `scripts/cdk deploy {stack} --outputs-file {path}`"
        else:
            hint = f"pass --stack NAME, or deploy it with `scripts/cdk deploy {stack} --outputs-file {path}`"
        raise Failure(f"{path} has no stack {stack!r} (stacks in it: {others}); {hint}")
    return data[stack]


def role_arn_from_outputs(outputs: dict, role: str, path: str, stack: str) -> str:
    """The output value that is an IAM role ARN named ``role`` (output keys are not relied on)."""
    arns = sorted({value for value in outputs.values() if isinstance(value, str) and v.ROLE_ARN.match(value)})
    found = [arn for arn in arns if arn.rsplit("/", 1)[1] == role]
    malformed = [(key, value) for key, value in sorted(outputs.items()) if isinstance(value, str)
                 and ROLE_ARN_LIKE.match(value) and value not in arns]
    # Name a malformed value (an extra ':' would be refused by STS only when the pod runs): the one
    # for this role, or one whose role cannot be told; not one plainly for another role.
    named = [m for m in malformed if m[1].strip().rsplit("/", 1)[-1] == role] or [
        m for m in malformed if not v.ROLE_NAME.match(m[1].strip().rsplit("/", 1)[-1])]
    if not found and named:
        key, value = named[0]
        problem = v.role_arn_hint(value) or "it does not match arn:PARTITION:iam::ACCOUNT:role/NAME"
        raise Failure(f"stack {stack!r} in {path} has no valid ARN of role {role!r}: output {key} is {value!r}, which is not "
                      f"an IAM role ARN ({problem}); fix the output (deploy the current stack with `scripts/cdk deploy "
                      f"{stack} --outputs-file {path}`) or pass --role-arn")
    if not found:
        raise Failure(f"stack {stack!r} in {path} has no output with the ARN of role {role!r} (role ARNs in it: "
                      f"{', '.join(arns) or 'none'}); deploy the current config with `scripts/cdk deploy {stack} "
                      f"--outputs-file {path}` or pass --role-arn")
    if len(found) > 1:
        raise Failure(f"stack {stack!r} in {path} has several ARNs for role {role!r} ({', '.join(found)}); pass --role-arn")
    return found[0]


def _check_provider_outputs(outputs: dict, config: FederationConfig, path: str) -> None:
    for value in outputs.values():
        match = PROVIDER_ARN.match(value) if isinstance(value, str) else None
        if match and match.group(3) != config.hub.issuer_host_path:
            warn(f"{path} shows a provider for {match.group(3)}, but hub.issuer_url in {config.source} is "
                 f"{config.hub.issuer_url}; the outputs may be from another config")


def _select_roles(args, config: FederationConfig) -> list[RoleSpec]:
    roles = config.spoke.roles
    names = [r.name for r in roles]
    if args.all_roles:
        return list(roles)
    if args.role is not None:
        chosen = [r for r in roles if r.name == args.role]
        if not chosen:
            raise UsageError(f"--role: {args.role!r} is not a role in {config.source} (roles: {', '.join(names)})"
                             f"{v.close_match(args.role, names)}")
        return chosen
    if len(roles) == 1:
        return list(roles)
    raise UsageError(f"{config.source} has {len(names)} roles ({', '.join(names)}); choose one with --role NAME "
                     "or test all with --all-roles")


def _load_config(path: str) -> FederationConfig:
    """The config, with this script's flag in the messages (config.py speaks to the CDK app's ``-c config=PATH``)."""
    p = Path(path)
    try:
        return load_config(path)
    except ConfigError as exc:
        if p.is_dir():
            raise Failure(f"--config {path!r} is a directory; give the federation YAML file in it: --config FILE") from None
        if not p.exists():
            raise Failure(f"config file {path!r} not found; pass --config FILE (the CDK app's federation YAML; "
                          "the bundled example is config/example.yaml)") from None
        raise ConfigError([line.replace("-c config=PATH", "--config FILE") for line in exc.errors]) from None


def _system_namespace(where: str, namespace: str, args) -> None:
    """Refuse kube-*, openshift and openshift-* unless --allow-system-namespace: their service accounts run the cluster."""
    if v.is_system_namespace(namespace) and not args.allow_system_namespace:
        raise UsageError(f"{where}: {namespace!r} is a system namespace (kube-*, openshift, openshift-*): the test would annotate "
                         "service accounts the cluster's own pods may use, giving their new pods the spoke role; test in a "
                         "namespace of your own, or pass --allow-system-namespace")


def make_plan(args) -> Plan:
    """Every input checked, before any command runs."""
    annotations = _annotations(args.annotation)
    role_arn_flag = _role_arn_flag(args.role_arn) if args.role_arn is not None else None
    namespace_flag = _flag("--namespace", v.namespace, args.namespace) if args.namespace is not None else None
    if namespace_flag is not None:
        _system_namespace("--namespace", namespace_flag, args)
    sa_flag = (_flag("--service-account", v.service_account_name, args.service_account)
               if args.service_account is not None else None)
    region_flag = _flag("--region", v.region, args.region) if args.region is not None else None
    if args.audience is not None and (not args.audience or len(args.audience) > 255
                                      or not all(c.isascii() and c.isprintable() and not c.isspace() for c in args.audience)):
        raise UsageError(f"--audience: {args.audience!r} is not an audience; give a non-empty client ID without spaces, e.g. sts.amazonaws.com")
    _flag("--image", v.image_reference, args.image)
    if args.all_roles:
        given = [flag for flag, value in (("--role", args.role), ("--role-arn", args.role_arn),
                                          ("--namespace", args.namespace), ("--service-account", args.service_account))
                 if value is not None]
        if given:
            raise UsageError(f"--all-roles tests every role and service account of the config; drop {', '.join(given)} "
                             "or choose one role with --role")

    config = _load_config(args.config)
    for warning in config.warnings:
        warn(warning)
    spoke = config.spoke
    roles = _select_roles(args, config)
    # cleanup needs only names, so it works when the stack (and its outputs file) is already gone.
    needs_arn = args.command != "cleanup"
    region = region_flag or spoke.region or ""
    if not region and needs_arn:
        raise UsageError(f"no region for the pod's AWS_REGION: set spoke.region in {config.source} or pass --region REGION")
    outputs = None
    if role_arn_flag is None and needs_arn:
        outputs = load_outputs(args.outputs, args.stack)
        _check_provider_outputs(outputs, config, args.outputs)

    targets: list[km.Target] = []
    for role in roles:
        if role_arn_flag is not None:
            arn, where, error = role_arn_flag, "--role-arn", UsageError
        elif not needs_arn:  # a stand-in; cleanup reads only the namespace and service account names
            arn, where, error = f"arn:aws:iam::{spoke.account_id or '000000000000'}:role/{role.name}", "", Failure
        else:
            arn = role_arn_from_outputs(outputs, role.name, args.outputs, args.stack)
            where, error = f"{args.outputs} (stack {args.stack})", Failure
        if spoke.account_id and arn.split(":")[4] != spoke.account_id:
            raise error(f"role ARN {arn!r} from {where} is in account {arn.split(':')[4]}, but spoke.account_id in "
                        f"{config.source} is {spoke.account_id}; use the spoke account's role (deploy there) or fix spoke.account_id")
        if role_arn_flag is not None and arn.rsplit("/", 1)[1] != role.name:
            warn(f"--role-arn names role {arn.rsplit('/', 1)[1]!r}, but the config's role is {role.name!r}; verify expects {arn.rsplit('/', 1)[1]!r}")
            role_name = arn.rsplit("/", 1)[1]
        else:
            role_name = role.name
        audience = args.audience if args.audience is not None else role.audience
        if args.audience is not None:
            hint = v.audience_hint(audience)
            if hint:
                warn(f"--audience: {hint}")
            if audience not in spoke.provider.client_ids:
                warn(f"--audience {audience!r} is not one of spoke.provider.client_ids {list(spoke.provider.client_ids)}; "
                     "STS will refuse the token ('Incorrect token audience')")
        accounts = list(role.service_accounts)
        if namespace_flag or sa_flag:
            first = accounts[0]
            chosen = (namespace_flag or first.namespace, sa_flag or first.name)
            if chosen not in [(a.namespace, a.name) for a in accounts]:
                warn(f"{chosen[0]}:{chosen[1]} is not among role {role.name}'s service_accounts "
                     f"({', '.join(f'{a.namespace}:{a.name}' for a in accounts)}); its trust policy will refuse it (AccessDenied)")
            accounts = [ServiceAccount(*chosen)]
        elif not args.all_roles and len(accounts) > 1:
            note(f"role {role.name} trusts {len(accounts)} service accounts; testing the first, "
                 f"{accounts[0].namespace}:{accounts[0].name} (choose with --namespace/--service-account, or --all-roles)")
            accounts = accounts[:1]
        for account in accounts:
            targets.append(km.Target(role_name=role_name, role_arn=arn, namespace=account.namespace,
                                     service_account=account.name, audience=audience, region=region,
                                     trusted=tuple(f"{a.namespace}:{a.name}" for a in role.service_accounts)))

    seen: dict[tuple[str, str], str] = {}
    for t in targets:
        key = (t.namespace, t.service_account)
        if key in seen and seen[key] != t.role_arn:
            raise UsageError(f"service account {t.label} is trusted by roles {seen[key].rsplit('/', 1)[1]} and "
                             f"{t.role_name}, but it carries one {km.ROLE_ARN_KEY}; test them one at a time with --role")
        seen[key] = t.role_arn
    targets = list(dict.fromkeys(targets))
    for t in targets:
        _system_namespace(f"service account {t.label} in {config.source}", t.namespace, args)
    options = km.PodOptions(image=args.image, openshift=args.openshift, projected_token=args.projected_token,
                            token_expiration=args.token_expiration, lifetime=args.pod_lifetime,
                            extra_annotations=annotations)
    return Plan(config=config, targets=tuple(targets), options=options)

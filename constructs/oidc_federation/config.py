"""The federation config file: read once at the edge into frozen, validated objects.

``load_config(path)`` returns a ``FederationConfig`` or raises ``ConfigError`` listing every problem
found in one pass, one line each: ``FILE: key.path: what is wrong; the fix``. Everything downstream
(stacks, constructs, scripts) receives these objects, never raw dicts.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from . import validation as v
from .validation import Invalid

THUMBPRINT_SOURCES = ("hub", "tls", "static", "none")
PROVIDER_MODES = ("create", "existing", "adopt")
PERMISSION_MODELS = ("service_managed", "self_managed")
CALL_AS = ("SELF", "DELEGATED_ADMIN")
ACCOUNT_FILTERS = ("NONE", "INTERSECTION", "DIFFERENCE", "UNION")
REGION_CONCURRENCY = ("SEQUENTIAL", "PARALLEL")
DEFAULT_LOOKUP_ROLE_NAME = "oidc-thumbprint-lookup"


class ConfigError(Exception):
    """The config cannot be used; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """The token's ``sub`` claim: ``system:serviceaccount:NS:NAME``."""
        return v.subject(self.namespace, self.name)


@dataclass(frozen=True)
class RoleSpec:
    """One federated role in the spoke account."""

    name: str
    service_accounts: tuple[ServiceAccount, ...]
    audience: str
    managed_policy_arns: tuple[str, ...] = ()
    inline_policy: Mapping[str, Any] | None = None
    permissions_boundary_arn: str | None = None
    max_session_duration: int = 3600
    tags: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    # cdk-nag findings the team accepts for this role: (rule id, reason), e.g.
    # ("AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess]", "read-only is the intent")
    acknowledgements: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProviderSpec:
    mode: str  # create | existing | adopt (use the account's provider where one exists, else create)
    client_ids: tuple[str, ...]
    # source: hub only: the created provider takes the hub provider's client IDs at deploy time
    # (the lookup fails if they lack an audience a role uses).
    mirror_hub_client_ids: bool = False
    # mode create: keep the provider when the stack is deleted or the resource leaves the template
    # (set it before switching a deployed stack to adopt or existing).
    retain_on_delete: bool = False


@dataclass(frozen=True)
class ThumbprintSpec:
    source: str  # hub | tls | static | none
    values: tuple[str, ...] = ()
    hub_lookup_role: str = DEFAULT_LOOKUP_ROLE_NAME
    # Changing it makes the deploy-time lookup (hub, tls) run again on the next deploy.
    lookup_revision: str = "1"

    @property
    def looked_up(self) -> bool:
        """True where a Lambda custom resource finds the thumbprint at deploy time."""
        return self.source in ("hub", "tls")


@dataclass(frozen=True)
class LookupAccessSpec:
    """Who may assume the hub's lookup role (HubStack): listed accounts and/or an Organization."""

    spoke_account_ids: tuple[str, ...] = ()
    organization_id: str | None = None


@dataclass(frozen=True)
class HubSpec:
    issuer_url: str
    account_id: str
    lookup_access: LookupAccessSpec = LookupAccessSpec()

    @property
    def issuer_host_path(self) -> str:
        """``host/path``: the issuer as IAM writes it in ARNs and condition keys."""
        return v.issuer_host_path(self.issuer_url)


@dataclass(frozen=True)
class SpokeSpec:
    provider: ProviderSpec
    roles: tuple[RoleSpec, ...]
    account_id: str | None = None
    region: str | None = None
    # The spoke account has `cdk bootstrap`: SpokeStack may then exceed the 50 KiB the CLI deploys
    # inline (the CLI uploads it to the bootstrap bucket). Not with a stackset section.
    bootstrapped: bool = False


@dataclass(frozen=True)
class StackSetSpec:
    """How SpokeStackSet rolls the spoke template out (CloudFormation StackSets)."""

    name: str
    permission_model: str  # service_managed | self_managed
    regions: tuple[str, ...]
    call_as: str = "SELF"
    organizational_unit_ids: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    account_filter: str = "NONE"
    auto_deployment_enabled: bool = True
    retain_stacks_on_account_removal: bool = False
    max_concurrent_percentage: int = 25
    failure_tolerance_percentage: int = 10
    region_concurrency: str = "SEQUENTIAL"
    administration_role_arn: str | None = None
    execution_role_name: str | None = None


@dataclass(frozen=True)
class FederationConfig:
    hub: HubSpec
    thumbprint: ThumbprintSpec
    spoke: SpokeSpec
    stackset: StackSetSpec | None = None
    source: str = "<memory>"
    warnings: tuple[str, ...] = field(default=(), compare=False)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # <<: *anchor; its keys may be overridden here, which is what it is for
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice in one mapping; keep one", key_node.start_mark)
        seen.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    """Walks the raw YAML, collecting every error with its key path."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._not_lists: set[str] = set()

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(self, raw: Any, path: str, keys: Mapping[str, bool]) -> dict:
        """``raw`` as a dict with only ``keys`` (name -> required); unknown keys are errors."""
        if raw is None:
            return {}  # a missing section: its parent reports it (required) or it is optional
        if not isinstance(raw, dict):
            self.error(path or "(top level)",
                       f"expected a mapping with keys {', '.join(keys)}, got {type(raw).__name__} {str(raw)[:80]!r}")
            return {}
        misspelt = set()
        for key in raw:
            if key not in keys:
                hint = v.close_match(str(key), keys)
                if hint:
                    misspelt.add(hint.split("'")[1])
                self.error(f"{path}.{key}" if path else str(key),
                           f"unknown key{hint} (allowed here: {', '.join(keys)})")
        for key, required in keys.items():
            if required and raw.get(key) is None and key not in misspelt:
                self.error(f"{path}.{key}" if path else key, "is required")
        return raw

    def check(self, path: str, check: Callable[[Any], Any], value: Any, default: Any = None) -> Any:
        try:
            return check(value)
        except Invalid as exc:
            self.error(path, str(exc))
            return default

    def boolean(self, path: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(path, f"{value!r} is not true or false")
            return default
        return value

    def choice(self, path: str, value: Any, choices: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in choices:
            self.error(path, f"{value!r} is not one of {' | '.join(choices)}{v.close_match(str(value), choices)}")
            return default
        return value

    def checked_list(self, path: str, raw: Any, check: Callable[[Any], Any]) -> list:
        """Each item of the list at ``path`` through ``check``: invalid ones reported, repeats dropped."""
        out: list = []
        for i, item in enumerate(self.string_list(path, raw)):
            value = self.check(f"{path}[{i}]", check, item)
            if value is not None and value not in out:
                out.append(value)
        return out

    def string_list(self, path: str, raw: Any) -> list:
        if raw is None:
            return []
        if isinstance(raw, str) or not isinstance(raw, list):
            if path not in self._not_lists:
                self._not_lists.add(path)
                self.error(path, f"expected a list, got {raw!r}; write it as [a, b] or one '- item' per line")
            return []
        return raw

    def empty_list(self, path: str, raw: Any) -> bool:
        """True where ``raw`` is a list with nothing in it (a non-list is reported by string_list)."""
        return isinstance(raw, list) and not raw


def _client_ids(r: _Reader, path: str, raw: Any) -> tuple[str, ...]:
    items = r.string_list(path, raw)
    if r.empty_list(path, raw):
        r.error(path, "is empty; list at least one client ID (audience), usually sts.amazonaws.com")
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item or len(item) > 255 or any(c.isspace() for c in item):
            r.error(f"{path}[{i}]", f"{item!r} is not a client ID; give a non-empty string without spaces (at most 255), e.g. sts.amazonaws.com")
        elif item in out:
            r.error(f"{path}[{i}]", f"{item!r} is listed twice; keep one")
        else:
            out.append(item)
    if len(out) > 100:
        r.error(path, f"has {len(out)} client IDs; IAM allows at most 100 per provider")
    return tuple(out) if out else (v.DEFAULT_AUDIENCE,)


def _thumbprint(r: _Reader, raw: Any) -> ThumbprintSpec:
    m = r.mapping(raw, "thumbprint", {"source": True, "values": False, "hub_lookup_role": False,
                                      "lookup_revision": False})
    source = r.choice("thumbprint.source", m.get("source"), THUMBPRINT_SOURCES, "static")
    values: list[str] = []
    raw_values = m.get("values")
    if source == "static":
        items = r.string_list("thumbprint.values", raw_values)
        if not items and (raw_values is None or r.empty_list("thumbprint.values", raw_values)):
            r.error("thumbprint.values", "is empty; source: static needs 1 to 5 SHA-1 thumbprints (or use source: tls, hub or none)")
        if len(items) > v.MAX_THUMBPRINTS:
            r.error("thumbprint.values", f"has {len(items)} thumbprints; IAM allows at most {v.MAX_THUMBPRINTS} per provider, keep the current CA's")
        for i, item in enumerate(items):
            tp = r.check(f"thumbprint.values[{i}]", v.thumbprint, item)
            if tp is None:
                continue
            if tp in values:
                r.error(f"thumbprint.values[{i}]", f"{item!r} repeats an earlier thumbprint (after normalising colons and case); keep one")
            else:
                values.append(tp)
    elif raw_values:
        r.error("thumbprint.values", f"is only read with source: static (source is {source}); remove it or set source: static")
    role = m.get("hub_lookup_role")
    if role is not None and source != "hub":
        r.error("thumbprint.hub_lookup_role", f"is only read with source: hub (source is {source}); remove it")
    lookup_role = r.check("thumbprint.hub_lookup_role", v.role_name, role if role is not None else DEFAULT_LOOKUP_ROLE_NAME,
                          DEFAULT_LOOKUP_ROLE_NAME)
    revision = m.get("lookup_revision", "1")
    if revision is None:
        revision = "1"
    if isinstance(revision, (datetime.date, datetime.datetime)):  # an unquoted date in YAML
        revision = revision.isoformat()
    if isinstance(revision, bool) or not isinstance(revision, (str, int)) or not str(revision) or len(str(revision)) > 64:
        r.error("thumbprint.lookup_revision", f"{revision!r} is not a short string; any new value (e.g. a date) re-runs the lookup")
    elif source not in ("hub", "tls"):
        if "lookup_revision" in m:
            r.error("thumbprint.lookup_revision", f"is only read with source: hub or tls (source is {source}); remove it")
    return ThumbprintSpec(source=source, values=tuple(values), hub_lookup_role=lookup_role, lookup_revision=str(revision))


def _lookup_access(r: _Reader, raw: Any) -> LookupAccessSpec:
    m = r.mapping(raw, "hub.lookup_access", {"spoke_account_ids": False, "organization_id": False})
    accounts = r.checked_list("hub.lookup_access.spoke_account_ids", m.get("spoke_account_ids"), v.account_id)
    org = m.get("organization_id")
    if org is not None:
        org = r.check("hub.lookup_access.organization_id", v.organization_id, org)
    return LookupAccessSpec(spoke_account_ids=tuple(accounts), organization_id=org)


ROLE_KEYS = {
    "name": True, "service_accounts": True, "audience": False, "managed_policy_arns": False,
    "inline_policy": False, "permissions_boundary_arn": False, "max_session_duration": False,
    "tags": False, "description": False, "acknowledgements": False,
}


def _policy_document(r: _Reader, path: str, raw: Any) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        r.error(path, f"expected an IAM policy document (Version, Statement), got {raw!r}")
        return None
    problems = []
    if raw.get("Version") not in ("2012-10-17", None):
        problems.append(f"Version {raw.get('Version')!r} should be '2012-10-17'")
    statements = raw.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        problems.append("Statement must be a non-empty list")
    else:
        for i, st in enumerate(statements):
            if not isinstance(st, dict):
                problems.append(f"Statement[{i}] is not a mapping")
                continue
            if st.get("Effect") not in ("Allow", "Deny"):
                problems.append(f"Statement[{i}].Effect must be Allow or Deny, got {st.get('Effect')!r}")
            if "Action" not in st and "NotAction" not in st:
                problems.append(f"Statement[{i}] needs Action or NotAction")
            if "Resource" not in st and "NotResource" not in st:
                problems.append(f"Statement[{i}] needs Resource or NotResource")
            if "Principal" in st or "NotPrincipal" in st:
                problems.append(f"Statement[{i}] has a Principal, which identity policies must not have")
    extra = set(raw) - {"Version", "Statement", "Id"}
    if extra:
        problems.append(f"unknown keys {sorted(extra)} (a policy document has Version, Id, Statement)")
    if problems:
        r.error(path, "; ".join(problems))
        return None
    doc = {"Version": "2012-10-17", **raw}
    if len(json.dumps(doc, separators=(",", ":"))) > 10240:
        r.error(path, "is larger than IAM's 10,240-character limit for inline role policies; attach a managed policy instead")
    return doc


# IAM's tag character set: Unicode letters, digits and white space, plus _.:/=+-@.
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")
# IAM's role description character set.
DESCRIPTION_TEXT = re.compile(r"[\t\n\r\u0020-\u007e\u00a1-\u00ff]*")


def _tags(r: _Reader, path: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        r.error(path, f"expected a mapping of tag keys to values, got {raw!r}")
        return ()
    out = []
    for key, value in raw.items():
        if (not isinstance(key, str) or not 1 <= len(key) <= 128 or key.lower().startswith("aws:")
                or not TAG_TEXT.fullmatch(key)):
            r.error(f"{path}.{key}", "is not a valid tag key; use 1 to 128 letters, digits, spaces and _.:/=+-@, not starting with 'aws:'")
        elif (not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 256
              or not TAG_TEXT.fullmatch(str(value))):
            r.error(f"{path}.{key}", f"{value!r} is not a valid tag value; use at most 256 letters, digits, spaces and _.:/=+-@ (quote true/false)")
        else:
            out.append((key, str(value)))
    if len(out) > 50:
        r.error(path, f"has {len(out)} tags; IAM allows at most 50 per role")
    return tuple(out)


def _role(r: _Reader, path: str, raw: Any, client_ids: tuple[str, ...]) -> RoleSpec | None:
    m = r.mapping(raw, path, ROLE_KEYS)
    errors_before = len(r.errors)
    name = r.check(f"{path}.name", v.role_name, m.get("name")) if m.get("name") is not None else None

    accounts: list[ServiceAccount] = []
    raw_accounts = m.get("service_accounts")
    items = r.string_list(f"{path}.service_accounts", raw_accounts)
    if r.empty_list(f"{path}.service_accounts", raw_accounts):
        r.error(f"{path}.service_accounts", "is empty; list at least one namespace:name, e.g. my-application-ca:default")
    for i, item in enumerate(items):
        parsed = r.check(f"{path}.service_accounts[{i}]", v.service_account, item)
        if parsed is None:
            continue
        sa = ServiceAccount(*parsed)
        if sa in accounts:
            r.error(f"{path}.service_accounts[{i}]", f"{item!r} is listed twice; keep one")
        else:
            accounts.append(sa)

    audience = m.get("audience")
    if audience is None:
        audience = client_ids[0]
    elif not isinstance(audience, str) or audience not in client_ids:
        # CASES.md 8: a trust audience the provider does not list fails with 'Incorrect token audience'.
        hint = v.audience_hint(audience) if isinstance(audience, str) else None
        r.error(f"{path}.audience", f"{audience!r} is not one of spoke.provider.client_ids {list(client_ids)}; "
                f"add it there or use one of them{' (' + hint + ')' if hint else ''}")
    hint = v.audience_hint(audience) if isinstance(audience, str) and audience in client_ids else None
    if hint:
        r.warnings.append(f"{path}.audience: {hint}")

    arns = r.checked_list(f"{path}.managed_policy_arns", m.get("managed_policy_arns"), v.policy_arn)
    if len(arns) > 20:
        r.error(f"{path}.managed_policy_arns", f"has {len(arns)} policies; IAM attaches at most 20 to a role")

    boundary = m.get("permissions_boundary_arn")
    if boundary is not None:
        boundary = r.check(f"{path}.permissions_boundary_arn", v.policy_arn, boundary)

    duration = m.get("max_session_duration", 3600)
    if duration is None:
        duration = 3600
    if isinstance(duration, bool) or not isinstance(duration, int):
        r.error(f"{path}.max_session_duration", f"{duration!r} is not a whole number of seconds; write e.g. 3600, without quotes")
    elif not 3600 <= duration <= 43200:
        r.error(f"{path}.max_session_duration", f"{duration!r} is out of range; give whole seconds from 3600 (1 h) to 43200 (12 h)")

    description = m.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1000
                                    or not DESCRIPTION_TEXT.fullmatch(description)):
        r.error(f"{path}.description", "must be a string of at most 1000 characters from Latin-1 (IAM's limit); "
                "remove other characters")

    acks = []
    for i, item in enumerate(r.string_list(f"{path}.acknowledgements", m.get("acknowledgements"))):
        ack = r.mapping(item, f"{path}.acknowledgements[{i}]", {"id": True, "reason": True})
        rule, reason = ack.get("id"), ack.get("reason")
        if rule is None or reason is None:
            continue
        if isinstance(rule, str) and rule.startswith("AwsSolutions::"):
            rule = rule[len("AwsSolutions::"):]  # the form the failing synth prints
        if not isinstance(rule, str) or not rule.startswith("AwsSolutions-"):
            r.error(f"{path}.acknowledgements[{i}].id", f"{rule!r} is not a cdk-nag AwsSolutions finding id; copy it from the synth error, e.g. AwsSolutions-IAM5[Resource::*]")
        elif not isinstance(reason, str) or len(reason.strip()) < 20:
            r.error(f"{path}.acknowledgements[{i}].reason", f"{reason!r} is too short; say in a sentence why the finding is accepted (security reviewers read it)")
        else:
            acks.append((rule, reason.strip()))

    spec_fields = dict(
        acknowledgements=tuple(acks),
        inline_policy=_policy_document(r, f"{path}.inline_policy", m.get("inline_policy")),
        tags=_tags(r, f"{path}.tags", m.get("tags")),
    )
    if len(r.errors) != errors_before or name is None:
        return None
    return RoleSpec(name=name, service_accounts=tuple(accounts), audience=audience,
                    managed_policy_arns=tuple(arns), permissions_boundary_arn=boundary,
                    max_session_duration=duration, description=description, **spec_fields)


def _spoke(r: _Reader, raw: Any) -> SpokeSpec:
    m = r.mapping(raw, "spoke", {"account_id": False, "region": False, "bootstrapped": False, "provider": True, "roles": True})
    bootstrapped = r.boolean("spoke.bootstrapped", m.get("bootstrapped"), False)
    account = r.check("spoke.account_id", v.account_id, m["account_id"]) if m.get("account_id") is not None else None
    region = r.check("spoke.region", v.region, m["region"]) if m.get("region") is not None else None
    if region and (hint := v.region_hint(region)):
        r.warnings.append(f"spoke.region: {hint}")

    pm = r.mapping(m.get("provider"), "spoke.provider", {"mode": False, "client_ids": False, "mirror_hub_client_ids": False,
                                                          "retain_on_delete": False})
    mirror = r.boolean("spoke.provider.mirror_hub_client_ids", pm.get("mirror_hub_client_ids"), False)
    retain = r.boolean("spoke.provider.retain_on_delete", pm.get("retain_on_delete"), False)
    mode = r.choice("spoke.provider.mode", pm.get("mode"), PROVIDER_MODES, "create")
    client_ids = _client_ids(r, "spoke.provider.client_ids", pm.get("client_ids"))
    for cid in client_ids:
        hint = v.audience_hint(cid)
        if hint and cid != "openshift":
            r.warnings.append(f"spoke.provider.client_ids: {hint}")

    roles: list[RoleSpec] = []
    raw_roles = r.string_list("spoke.roles", m.get("roles"))
    if r.empty_list("spoke.roles", m.get("roles")):
        r.error("spoke.roles", "is empty; list at least one role with name and service_accounts")
    names: dict[str, int] = {}
    for i, raw_role in enumerate(raw_roles):
        role = _role(r, f"spoke.roles[{i}]", raw_role, client_ids)
        raw_name = raw_role.get("name") if isinstance(raw_role, dict) else None
        if isinstance(raw_name, str):
            # IAM role names are unique per account regardless of case.
            key = raw_name.lower()
            if key in names:
                r.error(f"spoke.roles[{i}].name", f"{raw_name!r} duplicates spoke.roles[{names[key]}].name (IAM role names are unique per account, ignoring case); rename one")
            else:
                names[key] = i
        if role is not None:
            roles.append(role)
    if retain and mode != "create":
        r.error("spoke.provider.retain_on_delete", f"is only for mode: create (mode is {mode}; adopt and existing never delete a provider they did not create); remove it")
    return SpokeSpec(provider=ProviderSpec(mode=mode, client_ids=client_ids, mirror_hub_client_ids=mirror,
                                           retain_on_delete=retain), roles=tuple(roles),
                     account_id=account, region=region, bootstrapped=bootstrapped)


STACKSET_KEYS = {
    "name": True, "permission_model": True, "call_as": False, "organizational_unit_ids": False,
    "accounts": False, "account_filter": False, "regions": True, "auto_deployment": False,
    "operation_preferences": False, "administration_role_arn": False, "execution_role_name": False,
}


def _percentage(r: _Reader, path: str, value: Any, default: int, low: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 100:
        r.error(path, f"{value!r} is out of range; give a whole percentage from {low} to 100")
        return default
    return value


def _stackset(r: _Reader, raw: Any) -> StackSetSpec | None:
    m = r.mapping(raw, "stackset", STACKSET_KEYS)
    name = m.get("name")
    if name is not None and (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][-A-Za-z0-9]{0,127}", name)):
        r.error("stackset.name", f"{name!r} is not a StackSet name; start with a letter, then letters, digits and '-', at most 128")
    model = r.choice("stackset.permission_model", m.get("permission_model"), PERMISSION_MODELS, "service_managed")
    call_as = r.choice("stackset.call_as", m.get("call_as"), CALL_AS, "SELF")
    ous = r.checked_list("stackset.organizational_unit_ids", m.get("organizational_unit_ids"), v.organizational_unit_id)
    accounts = r.checked_list("stackset.accounts", m.get("accounts"), v.account_id)
    account_filter = r.choice("stackset.account_filter", m.get("account_filter"), ACCOUNT_FILTERS, "NONE")
    regions = r.checked_list("stackset.regions", m.get("regions"), v.region)
    for region in regions:
        if hint := v.region_hint(region):
            r.warnings.append(f"stackset.regions: {hint}")
    if m.get("regions") == []:
        r.error("stackset.regions", "is empty; give one region (IAM is global, so one is enough), e.g. [us-east-2]")
    if len(regions) > 1:
        # Named IAM roles are global: a second region's instance would create the same roles again.
        r.error("stackset.regions", f"{regions} has {len(regions)} regions; IAM is global, so one region is enough "
                f"(a second would fail with EntityAlreadyExists on the same role names); keep one, e.g. [{regions[0]}]")

    ad = r.mapping(m.get("auto_deployment"), "stackset.auto_deployment", {"enabled": False, "retain_stacks_on_account_removal": False})
    enabled = r.boolean("stackset.auto_deployment.enabled", ad.get("enabled"), model == "service_managed")
    retain = r.boolean("stackset.auto_deployment.retain_stacks_on_account_removal",
                       ad.get("retain_stacks_on_account_removal"), False)
    if retain and not enabled:
        r.error("stackset.auto_deployment.retain_stacks_on_account_removal",
                "is only allowed with enabled: true (CloudFormation refuses it otherwise); set enabled: true or remove it")
    op = r.mapping(m.get("operation_preferences"), "stackset.operation_preferences",
                   {"max_concurrent_percentage": False, "failure_tolerance_percentage": False, "region_concurrency": False})
    max_concurrent = _percentage(r, "stackset.operation_preferences.max_concurrent_percentage", op.get("max_concurrent_percentage"), 25, 1)
    tolerance = _percentage(r, "stackset.operation_preferences.failure_tolerance_percentage", op.get("failure_tolerance_percentage"), 10, 0)
    concurrency = r.choice("stackset.operation_preferences.region_concurrency", op.get("region_concurrency"), REGION_CONCURRENCY, "SEQUENTIAL")
    admin_arn = m.get("administration_role_arn")
    if admin_arn is not None:
        admin_arn = r.check("stackset.administration_role_arn", v.role_arn, admin_arn)
    execution = m.get("execution_role_name")
    if execution is not None:
        execution = r.check("stackset.execution_role_name", v.role_name, execution)

    # Combinations each permission model allows (CloudFormation refuses the others at deploy).
    # Judged on what was written, so an invalid entry is not also reported as a missing one.
    ous = ous or r.string_list("stackset.organizational_unit_ids", m.get("organizational_unit_ids"))
    accounts = accounts or r.string_list("stackset.accounts", m.get("accounts"))

    def missing(key: str) -> bool:  # not given, or an empty list (a non-list is reported already)
        return m.get(key) is None or r.empty_list(f"stackset.{key}", m.get(key))

    if model == "self_managed":
        if not accounts and missing("accounts"):
            r.error("stackset.accounts", "is empty; permission_model: self_managed deploys to listed accounts only, list their ids")
        if ous:
            r.error("stackset.organizational_unit_ids", "are only for permission_model: service_managed; list accounts instead or switch the model")
        if account_filter != "NONE":
            r.error("stackset.account_filter", f"{account_filter} is only for permission_model: service_managed (self_managed deploys to exactly the listed accounts); remove it")
        if call_as != "SELF":
            r.error("stackset.call_as", "DELEGATED_ADMIN is only for permission_model: service_managed; use SELF")
        if "auto_deployment" in m and enabled:
            r.error("stackset.auto_deployment.enabled", "is only for permission_model: service_managed (accounts joining an OU); set it false or remove it")
        enabled = False
    else:
        if not ous and missing("organizational_unit_ids"):
            r.error("stackset.organizational_unit_ids", "is empty; permission_model: service_managed deploys to OUs, list at least one (ou-xxxx-xxxxxxxx or the root r-xxxx)")
        if admin_arn is not None:
            r.error("stackset.administration_role_arn", "is only for permission_model: self_managed (service_managed uses the Organizations service role); remove it")
        if execution is not None:
            r.error("stackset.execution_role_name", "is only for permission_model: self_managed; remove it")
        if account_filter == "NONE" and accounts:
            r.error("stackset.accounts", "are ignored with account_filter: NONE; set account_filter to INTERSECTION, DIFFERENCE or UNION, or remove the accounts")
        if account_filter != "NONE" and not accounts and missing("accounts"):
            r.error("stackset.account_filter", f"{account_filter} needs stackset.accounts to filter with; list them or set NONE")
    if r.errors:
        return None
    return StackSetSpec(
        name=name, permission_model=model, regions=tuple(regions), call_as=call_as,
        organizational_unit_ids=tuple(ous), accounts=tuple(accounts), account_filter=account_filter,
        auto_deployment_enabled=enabled, retain_stacks_on_account_removal=retain,
        max_concurrent_percentage=max_concurrent, failure_tolerance_percentage=tolerance,
        region_concurrency=concurrency, administration_role_arn=admin_arn,
        execution_role_name=execution if execution is not None else (
            "AWSCloudFormationStackSetExecutionRole" if model == "self_managed" else None))


TOP_KEYS = {"hub": True, "thumbprint": True, "spoke": True, "stackset": False}


def parse_config(raw: Any, source: str = "<memory>") -> FederationConfig:
    """Validate an already-loaded YAML document; raises ``ConfigError`` with every problem."""
    r = _Reader()
    if raw is None:
        raise ConfigError([f"{source}: the file is empty; start from config/example.yaml"])
    top = r.mapping(raw, "", TOP_KEYS)
    hm = r.mapping(top.get("hub"), "hub", {"issuer_url": True, "account_id": True, "lookup_access": False})
    issuer = r.check("hub.issuer_url", v.issuer, hm["issuer_url"]) if hm.get("issuer_url") is not None else None
    hub_account = r.check("hub.account_id", v.account_id, hm["account_id"]) if hm.get("account_id") is not None else None
    thumbprint = _thumbprint(r, top.get("thumbprint")) if "thumbprint" in top else None
    spoke = _spoke(r, top.get("spoke")) if "spoke" in top else None
    access = _lookup_access(r, hm.get("lookup_access"))
    stackset = _stackset(r, top["stackset"]) if top.get("stackset") is not None else None
    if thumbprint is not None and spoke is not None:
        if spoke.provider.mirror_hub_client_ids and thumbprint.source != "hub":
            r.error("spoke.provider.mirror_hub_client_ids", f"needs thumbprint.source: hub (source is {thumbprint.source}); the client IDs come from the hub's provider")
        if spoke.provider.mode == "existing" and thumbprint.source != "none":
            r.warnings.append(f"thumbprint.source: {thumbprint.source!r} has no effect with spoke.provider.mode: existing (no provider is created); set source: none")
    if spoke is not None and spoke.bootstrapped and stackset is not None:
        r.error("spoke.bootstrapped", "cannot be true with a stackset section: StackSet targets cannot read a "
                "bootstrap bucket, so the spoke template must deploy without one; remove it")
    if spoke is not None and spoke.provider.mode == "create":
        # CASES.md 5: where a provider for the issuer exists, create fails with EntityAlreadyExists.
        if spoke.account_id and spoke.account_id == hub_account:
            r.warnings.append("spoke.provider.mode: create in the hub account itself, which always has a provider for "
                              "its issuer: the deploy would fail with EntityAlreadyExists; use mode: existing or adopt")
        if stackset is not None:
            r.warnings.append("spoke.provider.mode: create in a StackSet fails in every target account that already has "
                              "a provider for the issuer (EntityAlreadyExists); mode: adopt is made for StackSets")
    if thumbprint is not None and thumbprint.source == "hub" and not hm.get("lookup_access"):
        if spoke is not None and spoke.account_id:
            access = LookupAccessSpec(spoke_account_ids=(spoke.account_id,))
        else:
            r.error("hub.lookup_access", "is empty; with thumbprint.source: hub, list spoke_account_ids or organization_id "
                    "(who may assume the hub's lookup role), or set spoke.account_id")
    if r.errors:
        raise ConfigError([f"{source}: {line}" for line in r.errors])
    return FederationConfig(hub=HubSpec(issuer_url=issuer, account_id=hub_account, lookup_access=access), thumbprint=thumbprint,
                            spoke=spoke, stackset=stackset, source=source, warnings=tuple(f"{source}: {w}" for w in r.warnings))


def load_config(path: str | Path) -> FederationConfig:
    """Read and validate the YAML config file at ``path``."""
    p = Path(path)
    if not p.is_file():
        hint = "it is a directory; name the YAML file inside it" if p.is_dir() else \
            "pass -c config=PATH to a federation YAML file (the bundled example is config/example.yaml)"
        raise ConfigError([f"{path}: config file not found; {hint}"])
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (safe loader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path}: {where}not valid YAML: {problem}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text; save the config as UTF-8"]) from None
    return parse_config(raw, source=str(path))

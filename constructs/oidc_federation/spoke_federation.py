"""SpokeFederation: the hub cluster's issuer as an IAM OIDC provider, and roles that trust it."""

from __future__ import annotations

import hashlib
from typing import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import validation as v
from .config import RoleSpec
from .names import pascal_case
from .nag import acknowledge

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"


def trust_policy_conditions(issuer_url: str, role: RoleSpec) -> dict:
    """The trust policy's Condition block for ``role``: literal ``host/path:sub`` and ``:aud`` keys.

    CASES.md 6: the keys are plain strings built here, at synth time, from the configured issuer;
    a token (parameter, import, CfnJson) in a key is refused by CloudFormation or quoted wrongly.
    """
    host_path = v.issuer_host_path(issuer_url)
    subjects = [sa.subject for sa in role.service_accounts]
    return {
        "StringEquals": {
            f"{host_path}:sub": subjects[0] if len(subjects) == 1 else subjects,
            f"{host_path}:aud": role.audience,
        }
    }


class SpokeFederation(Construct):
    """An OIDC provider for the hub cluster's issuer (or a reference to an existing one) and one
    federated role per ``RoleSpec``.

    :param issuer_url: the hub cluster's service-account issuer, canonical ``https://host/path``.
    :param client_ids: the provider's client IDs (audiences); every role's audience must be one.
    :param thumbprints: 0 to 5 SHA-1 thumbprints for a created provider: literal strings, or a
        single list token (e.g. ``Fn::Split`` over a lookup's result). Empty: IAM's own CA library.
    :param provider_mode: ``create`` makes an ``AWS::IAM::OIDCProvider``; ``existing`` references
        the account's provider for the issuer and creates none; ``adopt`` uses the account's
        provider where one exists and creates one only where none does (needs ``provider_function``).
    :param provider_function: the stack's ``FederationFunction``, for ``adopt``.
    :param retain_provider: ``create``: keep the provider when it leaves the template or the stack
        is deleted (DeletionPolicy/UpdateReplacePolicy Retain).
    :param role_names: optional name per role (config name -> name or parameter token), e.g. from
        CloudFormation parameters in a StackSet template; defaults to the configured names.
    :param roles: the roles to create; names must be unique.
    :param client_ids_token: optional list token that replaces ``client_ids`` in the created
        provider (mirroring the hub provider); ``client_ids`` still checks audiences at synth.
    """

    def __init__(self, scope: Construct, construct_id: str, *, issuer_url: str, client_ids: Sequence[str],
                 roles: Sequence[RoleSpec], thumbprints: Sequence[str] | None = None,
                 provider_mode: str = "create", client_ids_token: Sequence[str] | None = None,
                 provider_function=None, role_names: dict[str, str] | None = None,
                 retain_provider: bool = False) -> None:
        super().__init__(scope, construct_id)
        # Checks before any resource exists, with the same messages as the config file's.
        issuer_url = v.prop("issuer_url", v.issuer, issuer_url)
        if provider_mode not in ("create", "existing", "adopt"):
            raise ValueError(f"provider_mode: {provider_mode!r} is not one of create | existing | adopt")
        if provider_mode == "adopt" and provider_function is None:
            raise ValueError("provider_function: provider_mode adopt needs the FederationFunction that adopts or creates the provider")
        if not client_ids:
            raise ValueError("client_ids: is empty; list at least one client ID, usually sts.amazonaws.com")
        thumbprints = list(thumbprints or [])
        if not cdk.Token.is_unresolved(thumbprints):
            if len(thumbprints) > v.MAX_THUMBPRINTS:
                raise ValueError(f"thumbprints: {len(thumbprints)} given; IAM allows at most {v.MAX_THUMBPRINTS}")
            thumbprints = [v.prop("thumbprints", v.thumbprint, t) for t in thumbprints]
        if not roles:
            raise ValueError("roles: is empty; give at least one RoleSpec")
        seen: set[str] = set()
        for role in roles:
            if role.name.lower() in seen:
                raise ValueError(f"roles: {role.name!r} is given twice (IAM role names are unique per account); rename one")
            seen.add(role.name.lower())
            if role.audience not in client_ids:
                raise ValueError(f"roles: {role.name!r} has audience {role.audience!r}, which is not one of client_ids {list(client_ids)}")
            if not role.service_accounts:
                raise ValueError(f"roles: {role.name!r} has no service accounts")

        self.issuer_url = issuer_url
        self.issuer_host_path = v.issuer_host_path(issuer_url)

        if provider_mode == "create":
            self.provider = iam.CfnOIDCProvider(
                self, "Provider",
                url=issuer_url,
                client_id_list=list(client_ids_token) if client_ids_token is not None else list(client_ids),
                thumbprint_list=thumbprints or None,
            )
            if retain_provider:
                self.provider.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.provider_arn: str = self.provider.attr_arn
        elif provider_mode == "adopt":
            from .thumbprint.lookup import AdoptedProvider
            self.provider = AdoptedProvider(
                self, "Provider", function=provider_function, issuer_url=issuer_url,
                client_ids=list(client_ids_token) if client_ids_token is not None else list(client_ids),
                thumbprints=thumbprints, required_client_ids=[r.audience for r in roles])
            self.provider_arn = self.provider.provider_arn
        else:
            self.provider = None
            self.provider_arn = cdk.Fn.sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/" + self.issuer_host_path)

        self.roles: dict[str, iam.Role] = {}
        for role in roles:
            self.roles[role.name] = self._role(role, (role_names or {}).get(role.name, role.name))

    def _role(self, spec: RoleSpec, role_name: str) -> iam.Role:
        suffix = pascal_case(spec.name) or "Role"
        if self.node.try_find_child(f"Role{suffix}") is not None:
            # Distinct IAM names that differ only in punctuation (a-b, a_b): keep their ids apart.
            suffix += hashlib.sha256(spec.name.encode()).hexdigest()[:8]
        # CASES.md 7: the federated principal is only usable with AssumeRoleWithWebIdentity.
        principal = iam.FederatedPrincipal(
            self.provider_arn, trust_policy_conditions(self.issuer_url, spec), WEB_IDENTITY_ACTION)
        inline = {}
        if spec.inline_policy is not None:
            inline["inline"] = iam.PolicyDocument.from_json(dict(spec.inline_policy))
        role = iam.Role(
            self, f"Role{suffix}",
            role_name=role_name,
            assumed_by=principal,
            description=spec.description or (
                f"Assumed by service accounts of the cluster with issuer {self.issuer_url} "
                f"({', '.join(sa.subject for sa in spec.service_accounts)})")[:1000],
            max_session_duration=cdk.Duration.seconds(spec.max_session_duration),
            managed_policies=[iam.ManagedPolicy.from_managed_policy_arn(self, f"Managed{suffix}{i}", arn)
                              for i, arn in enumerate(spec.managed_policy_arns)],
            permissions_boundary=(iam.ManagedPolicy.from_managed_policy_arn(
                self, f"Boundary{suffix}", spec.permissions_boundary_arn)
                if spec.permissions_boundary_arn else None),
            inline_policies=inline or None,
        )
        for key, value in spec.tags:
            cdk.Tags.of(role).add(key, value)
        for rule_id, reason in spec.acknowledgements:
            acknowledge(role, rule_id, reason)
        return role

"""HubLookupRole: the read-only role in the hub account that spoke lookup functions assume."""

from __future__ import annotations

from typing import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import validation as v
from .names import lookup_caller_role_name
from .nag import acknowledge


class HubLookupRole(Construct):
    """A role allowed only ``iam:GetOpenIDConnectProvider`` on the issuer's provider in this account.

    Trusted only by the spoke lookup function's role (``lookup_caller_role_name(issuer_url)``) in
    ``spoke_account_ids`` and/or in any account of ``organization_id``.

    :param role_name: the name spoke stacks assume (``thumbprint.hub_lookup_role``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, issuer_url: str, role_name: str,
                 spoke_account_ids: Sequence[str] = (), organization_id: str | None = None) -> None:
        super().__init__(scope, construct_id)
        try:
            issuer_url = v.issuer(issuer_url)
            v.role_name(role_name)
            for account in spoke_account_ids:
                v.account_id(account)
            if organization_id is not None:
                v.organization_id(organization_id)
        except v.Invalid as exc:
            raise ValueError(f"HubLookupRole: {exc}") from None
        if not spoke_account_ids and not organization_id:
            raise ValueError("HubLookupRole: give spoke_account_ids and/or organization_id; a role nobody may assume is useless")

        caller = lookup_caller_role_name(issuer_url)
        statements = []
        if spoke_account_ids:
            statements.append({
                "Sid": "SpokeLookupFunctions",
                "Effect": "Allow",
                "Principal": {"AWS": [cdk.Fn.sub(f"arn:${{AWS::Partition}}:iam::{a}:root") for a in spoke_account_ids]},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": [
                    cdk.Fn.sub(f"arn:${{AWS::Partition}}:iam::{a}:role/{caller}") for a in spoke_account_ids]}},
            })
        if organization_id:
            statements.append({
                "Sid": "OrganizationLookupFunctions",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": organization_id},
                    "ArnLike": {"aws:PrincipalArn": cdk.Fn.sub(f"arn:${{AWS::Partition}}:iam::*:role/{caller}")},
                },
            })
        self.provider_arn = cdk.Fn.sub(
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/" + v.issuer_host_path(issuer_url))
        self.role = iam.CfnRole(
            self, "Role",
            role_name=role_name,
            description=f"Read-only: lets spoke stacks read the thumbprint of the provider for {issuer_url}",
            assume_role_policy_document={"Version": "2012-10-17", "Statement": statements},
            max_session_duration=3600,
            policies=[iam.CfnRole.PolicyProperty(policy_name="read-oidc-provider", policy_document={
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "ReadTheProvider", "Effect": "Allow", "Action": "iam:GetOpenIDConnectProvider",
                     "Resource": self.provider_arn},
                    {"Sid": "FindNearMatches", "Effect": "Allow", "Action": "iam:ListOpenIDConnectProviders",
                     "Resource": "*"},
                ]})],
        )
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]",
                    "iam:ListOpenIDConnectProviders has no resource-level permissions; it returns ARNs only, "
                    "used to name a near match when the provider for the issuer is missing.")
        self.role_arn = self.role.attr_arn
        self.caller_role_name = caller

#!/usr/bin/env python3
"""Look up the thumbprint(s) a spoke account's OIDC provider needs, as the custom resource does.

  scripts/thumbprint_lookup.py --mode tls --issuer https://oidc.example.com/abc [--cafile ca.pem]
  scripts/thumbprint_lookup.py --mode hub --issuer URL --hub-account-id 111111111111 [--role-arn ARN]

Prints the thumbprint(s) and each check made (--json for machines). Exit status: 0 found,
1 the lookup failed (one line on stderr; --debug for the traceback), 2 bad arguments.
"""

import argparse
import json
import os
import sys
import traceback

from oidc_federation.thumbprint import handler as lookup

PROG = "thumbprint_lookup"


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0].splitlines()[0],
        epilog="Runs the same code as the custom resource's Lambda function "
               "(constructs/oidc_federation/thumbprint/handler.py).")
    parser.add_argument("--mode", required=True, choices=("tls", "hub"),
                        help="tls: SHA-1 of the last certificate the jwks_uri host presents; "
                             "hub: copy the hub account's IAM OIDC provider")
    parser.add_argument("--issuer", required=True, metavar="URL",
                        help="the issuer URL, e.g. https://oidc.op1.openshiftapps.com/abc123")
    tls = parser.add_argument_group("tls mode")
    tls.add_argument("--cafile", metavar="FILE",
                     help="trust the CAs in this PEM file instead of the system CA store")
    hub = parser.add_argument_group("hub mode")
    hub.add_argument("--hub-account-id", metavar="ID", help="the 12-digit hub account id (required)")
    hub.add_argument("--role-arn", metavar="ARN",
                     help="role in the hub account to assume first; without it the current "
                          "credentials are used and must be the hub account's")
    hub.add_argument("--region", help="AWS region for STS and IAM (default: from the environment)")
    hub.add_argument("--partition", help="for the provider ARN (default: from --role-arn, else "
                                         "from --region, else aws)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="time budget for the whole lookup (default: 60, the function's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    return parser


def _check(parser, args):
    """Refuses bad values and combinations (exit 2), naming both sides of a combination."""
    try:
        lookup.check_issuer_url(args.issuer)
    except lookup.ThumbprintLookupError as exc:
        parser.error(f"--issuer: {exc}")
    if args.timeout <= 0:
        parser.error(f"--timeout {args.timeout:g} must be more than 0")
    if args.mode == "tls":
        given = [flag for flag, value in (("--hub-account-id", args.hub_account_id),
                                          ("--role-arn", args.role_arn), ("--region", args.region),
                                          ("--partition", args.partition)) if value]
        if given:
            parser.error(f"{', '.join(given)} applies to --mode hub, not --mode tls")
        if args.cafile and not os.path.isfile(args.cafile):
            parser.error(f"--cafile {args.cafile}: no such file")
        return
    if args.cafile:
        parser.error("--cafile applies to --mode tls, not --mode hub")
    if not args.hub_account_id:
        parser.error("--mode hub needs --hub-account-id")
    if not lookup.ACCOUNT_ID.fullmatch(args.hub_account_id):
        parser.error(f"--hub-account-id {args.hub_account_id!r} is not 12 digits")
    if args.role_arn:
        match = lookup.ROLE_ARN.fullmatch(args.role_arn)
        if not match:
            parser.error(f"--role-arn {args.role_arn!r} is not an IAM role ARN")
        if match.group(2) != args.hub_account_id:
            parser.error(f"--role-arn {args.role_arn} is in account {match.group(2)}, "
                         f"but --hub-account-id is {args.hub_account_id}")
        if args.partition and args.partition != match.group(1):
            parser.error(f"--role-arn {args.role_arn} is in partition {match.group(1)}, "
                         f"but --partition is {args.partition}")


def _partition(args):
    if args.partition:
        return args.partition
    if args.role_arn:
        return lookup.ROLE_ARN.fullmatch(args.role_arn).group(1)
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _progress(step):
    print(f"{PROG}: {step}", file=sys.stderr, flush=True)


def _run(args):
    deadline = lookup.Deadline(args.timeout)
    if args.mode == "tls":
        return lookup.lookup_tls(args.issuer, cafile=args.cafile, deadline=deadline,
                                 progress=_progress)
    return lookup.lookup_hub(args.issuer, args.hub_account_id, role_arn=args.role_arn,
                             partition=_partition(args), region=args.region, deadline=deadline,
                             progress=_progress)


def main(argv=None):
    """Runs the lookup; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _check(parser, args)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 for --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        result = _run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # expected failures and bugs alike: one line, traceback on request
        if args.debug:
            traceback.print_exc()
        if isinstance(exc, lookup.ThumbprintLookupError):
            message = str(exc)
        else:
            message = f"unexpected {type(exc).__name__}: {exc}" + (
                "" if args.debug else " (run with --debug for the traceback)")
        print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"mode": args.mode, "issuer": lookup.normalise_url(args.issuer),
                          "thumbprints": result.thumbprints, "client_ids": result.client_ids,
                          "checks": result.checks}, indent=2))
        return 0
    for thumbprint in result.thumbprints:
        print(f"thumbprint: {thumbprint}")
    if args.mode == "hub":
        print(f"client IDs: {', '.join(result.client_ids)}")
    print("checks:")
    for check in result.checks:
        print(f"  - {check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

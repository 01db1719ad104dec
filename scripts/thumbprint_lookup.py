#!/usr/bin/env python3
"""Look up the thumbprint(s) a spoke account's OIDC provider needs, as the custom resource does.

  scripts/thumbprint_lookup.py --mode tls --issuer https://oidc.example.com/abc [--cafile ca.pem]
  scripts/thumbprint_lookup.py --mode hub --issuer URL --hub-account-id 111111111111 [--role-arn ARN]

Prints the thumbprint(s) and each check made (--json for machines, also on failure). Exit status:
0 found, 1 the lookup failed (one line on stderr; --debug for the traceback), 2 bad arguments.
--issuer is checked as the CDK app checks hub.issuer_url: an issuer it would refuse is refused here.
Any python3 can start it: without the project's packages it re-runs itself with the venv
scripts/setup made.
"""

import argparse
import json
import os
import ssl
import sys
import traceback

PROG = "thumbprint_lookup"

if __name__ == "__main__":  # before the imports below, which need the project's venv
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import _venv

    _venv.ensure(PROG, __file__, ("oidc_federation", "boto3"))

from oidc_federation import validation as v  # noqa: E402
from oidc_federation.thumbprint import handler as lookup  # noqa: E402


class Refused(Exception):
    """A bad argument or combination: exit 2, one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line like every other error, not the usage block
        raise Refused(message)


def _parser():
    parser = _Parser(
        prog=PROG, description=__doc__.split("\n\n")[0].splitlines()[0],
        epilog="Runs the same code as the custom resource's Lambda function "
               "(constructs/oidc_federation/thumbprint/handler.py).")
    parser.add_argument("--mode", required=True, choices=("tls", "hub"),
                        help="tls: SHA-1 of the last certificate the jwks_uri host presents; "
                             "hub: copy the hub account's IAM OIDC provider")
    parser.add_argument("--issuer", required=True, metavar="URL",
                        help="the issuer URL exactly as in the config's hub.issuer_url, e.g. "
                             "https://oidc.op1.openshiftapps.com/abc123")
    tls = parser.add_argument_group("tls mode")
    tls.add_argument("--cafile", metavar="FILE",
                     help="trust the CA certificates in this PEM file instead of the system CA store")
    hub = parser.add_argument_group("hub mode")
    hub.add_argument("--hub-account-id", metavar="ID", help="the 12-digit hub account id (required)")
    hub.add_argument("--role-arn", metavar="ARN",
                     help="role in the hub account to assume first; without it the current "
                          "credentials are used and must be the hub account's")
    hub.add_argument("--region", help="AWS region for STS and IAM (default: from the environment)")
    hub.add_argument("--partition", help="for the provider ARN (default: from --role-arn, else "
                                         "from --region, else aws)")
    parser.add_argument("--timeout", default="60", metavar="SECONDS",
                        help="time budget for the whole lookup (default: 60, the function's)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object on stdout, {"ok": false, "error": ...} on failure')
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    return parser


def _check(args):
    """Refuses bad values and combinations (exit 2), naming both sides of a combination.

    The issuer, region, partition and role ARN are checked as the CDK app checks its config, so a
    value the synth would refuse is refused here too, with the same words.
    """
    try:
        args.issuer = v.issuer(args.issuer)
    except v.Invalid as exc:
        raise Refused(f"--issuer: {exc}") from None
    try:
        args.timeout = v.seconds(args.timeout)
    except v.Invalid as exc:
        raise Refused(f"--timeout {exc}") from None
    if args.mode == "tls":
        given = [flag for flag, value in (("--hub-account-id", args.hub_account_id),
                                          ("--role-arn", args.role_arn), ("--region", args.region),
                                          ("--partition", args.partition)) if value]
        if given:
            raise Refused(f"{', '.join(given)} applies to --mode hub, not --mode tls")
        if args.cafile:
            _check_cafile(args.cafile)
        return
    if args.cafile:
        raise Refused("--cafile applies to --mode tls, not --mode hub")
    if not args.hub_account_id:
        raise Refused("--mode hub needs --hub-account-id")
    if not v.ACCOUNT_ID.match(args.hub_account_id):
        raise Refused(f"--hub-account-id {args.hub_account_id!r} is not 12 digits")
    if args.partition is not None and args.partition not in v.PARTITIONS:
        raise Refused(f"--partition {args.partition!r} is not one of {', '.join(v.PARTITIONS)}"
                      f"{v.close_match(args.partition, v.PARTITIONS)}")
    if args.region is not None:
        try:
            v.region(args.region)
        except v.Invalid as exc:
            raise Refused(f"--region: {exc}") from None
    if args.role_arn:
        try:
            v.role_arn(args.role_arn)
        except v.Invalid as exc:
            hint = v.role_arn_hint(args.role_arn)
            raise Refused(f"--role-arn {exc}" + (f" ({hint})" if hint else "")) from None
        match = v.ROLE_ARN.match(args.role_arn)
        if match.group(2) != args.hub_account_id:
            raise Refused(f"--role-arn {args.role_arn} is in account {match.group(2)}, "
                          f"but --hub-account-id is {args.hub_account_id}")
        if args.partition and args.partition != match.group(1):
            raise Refused(f"--role-arn {args.role_arn} is in partition {match.group(1)}, "
                          f"but --partition is {args.partition}")


def _check_cafile(path):
    """A readable PEM file with at least one CA certificate, as ssl will load it for the lookup."""
    if not os.path.isfile(path):
        raise Refused(f"--cafile {path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # empty: counts only what the file holds
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise Refused(f"--cafile {path}: not a PEM file of CA certificates ({exc.reason or exc}); give the "
                      "issuer's CA certificate(s) in PEM, -----BEGIN CERTIFICATE----- blocks") from None
    except OSError as exc:
        raise Refused(f"--cafile {path}: cannot be read ({exc.strerror})") from None
    stats = context.cert_store_stats()
    if not stats.get("x509_ca"):
        raise Refused(f"--cafile {path}: none of its {stats.get('x509', 0)} certificate(s) is a CA certificate (a "
                      "server's own certificate cannot be trusted as one); give the PEM file of the issuing CA(s)")


def _region_warning(args, partition):
    """A region name botocore does not know: only a warning, botocore may be older than the region."""
    if not args.region:
        return
    try:
        import botocore
        import botocore.session

        known = botocore.session.get_session().get_available_regions("sts", partition_name=partition)
    except Exception:  # a warning must never stop the lookup
        return
    if known and args.region not in known:
        print(f"{PROG}: warning: --region {args.region} is not a region botocore {botocore.__version__} knows in "
              f"partition {partition}; calls there fail unless it exists and botocore is older than it",
              file=sys.stderr)


def _partition(args):
    if args.partition:
        return args.partition
    if args.role_arn:
        return v.ROLE_ARN.match(args.role_arn).group(1)
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _progress(step):
    print(f"{PROG}: {step}", file=sys.stderr, flush=True)


def _run(args, partition):
    deadline = lookup.Deadline(args.timeout)
    if args.mode == "tls":
        return lookup.lookup_tls(args.issuer, cafile=args.cafile, deadline=deadline,
                                 progress=_progress)
    return lookup.lookup_hub(args.issuer, args.hub_account_id, role_arn=args.role_arn,
                             partition=partition, region=args.region, deadline=deadline,
                             progress=_progress)


def _failed(message, code, as_json):
    """One line on stderr; with --json also {"ok": false, "error": ...} on stdout."""
    message = " ".join(str(message).split())
    print(f"{PROG}: error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"ok": False, "error": message}, indent=2))
    return code


def main(argv=None):
    """Runs the lookup; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv  # known before parsing, for a parse error too
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _check(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except Refused as exc:
        return _failed(exc, 2, as_json)
    try:
        partition = _partition(args) if args.mode == "hub" else None
        if partition:
            _region_warning(args, partition)
        result = _run(args, partition)
    except KeyboardInterrupt:
        return _failed("interrupted", 130, args.json)
    except Exception as exc:  # expected failures and bugs alike: one line, traceback on request
        if args.debug:
            traceback.print_exc()
        if isinstance(exc, lookup.ThumbprintLookupError):
            message = str(exc)
        else:
            message = f"unexpected {type(exc).__name__}: {exc}" + (
                "" if args.debug else " (run with --debug for the traceback)")
        return _failed(message, 1, args.json)
    if args.json:
        print(json.dumps({"ok": True, "mode": args.mode, "issuer": args.issuer,
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

"""A stack synthesizer for accounts that were never bootstrapped."""

from __future__ import annotations

import aws_cdk as cdk


class NoBootstrapSynthesizer(cdk.StackSynthesizer):
    """Writes the template and nothing that needs ``cdk bootstrap``.

    ``BootstraplessSynthesizer`` still names the bootstrap roles (``cdk-hnb659fds-deploy-role``,
    ``-cfn-exec-role``) in the cloud assembly, and the CLI then asks CloudFormation to use a role
    that does not exist in an unbootstrapped account. This one names no role (the CLI deploys with
    the caller's credentials), adds no ``BootstrapVersion`` parameter or rule, and refuses assets,
    which a StackSet target could not read anyway.
    """

    def add_file_asset(self, asset) -> cdk.FileAssetLocation:
        raise RuntimeError(
            f"{self._bound_stack.stack_name} must deploy without a bootstrap bucket (cdk deploy in a fresh "
            f"account, StackSets): a file asset was added ({asset.source_hash[:12]}); inline the code instead")

    def add_docker_image_asset(self, asset) -> cdk.DockerImageAssetLocation:
        raise RuntimeError(
            f"{self._bound_stack.stack_name} must deploy without a bootstrap repository: a container image "
            "asset was added; reference a published image instead")

    def synthesize(self, session: cdk.ISynthesisSession) -> None:
        self._synthesize_template(session)
        self._emit_artifact(session)

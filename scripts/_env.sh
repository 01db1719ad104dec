# Sourced by scripts/cdk and scripts/test: the project's own Python venv and Node 22 first on PATH,
# so the CDK CLI and jsii (inside every synth) never fall back to the machine's Node.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$root/.venv/bin/python" ] || [ ! -x "$root/node_modules/.bin/cdk" ]; then
  echo "$(basename "$0"): error: the project is not set up; run scripts/setup first" >&2
  exit 2
fi
export PATH="$root/node_modules/node/bin:$root/node_modules/.bin:$root/.venv/bin:$PATH"
export VIRTUAL_ENV="$root/.venv"
# jsii checks the Node version on every run; ours is supported, the check only costs time.
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
export CDK_DISABLE_VERSION_CHECK=1

#!/usr/bin/env bash
# Checks the deployment artifacts without a cluster and without Docker:
#   1. renders every Kustomize overlay (deploy/kubernetes/overlays/*) with kubectl kustomize,
#      the image pinned by digest as the release pipeline does it;
#   2. validates the rendered manifests against the Kubernetes schemas (kubernetes-validate,
#      strict: unknown fields are errors);
#   3. scans them and the Dockerfile with checkov: no failed check at all;
#   4. lints the Dockerfile with hadolint.
# Prints "deploy_checks: N passed, M failed". The tools live in .venv-iac (deploy/requirements-iac.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
IAC="$ROOT/.venv-iac"
PY="${PYTHON:-python3.11}"

if [ ! -x "$IAC/bin/checkov" ] || [ deploy/requirements-iac.txt -nt "$IAC/.installed" ]; then
  "$PY" -m venv "$IAC" >/dev/null
  "$IAC/bin/pip" install --quiet --disable-pip-version-check -r deploy/requirements-iac.txt \
    2> >(grep -v "^WARNING: Location" >&2) || { echo "deploy_checks: could not install the tools" >&2; exit 1; }
  touch "$IAC/.installed"
fi

WORK="$(mktemp -d)"
# Kustomize takes only relative paths: the release overlays live beside the real ones.
RELEASES="deploy/kubernetes/.release-check-$$"
trap 'rm -rf "$WORK" "$RELEASES"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "  ok    $1"; }
bad() { failed=$((failed + 1)); echo "  FAIL  $1"; [ -n "${2:-}" ] && sed 's/^/        /' "$2" | tail -n 40; }

# What a release pins: a digest (here derived from the source tree, as a stand-in for the
# digest the registry returns after the push).
DIGEST="sha256:$(git ls-files -s src pyproject.toml Dockerfile 2>/dev/null | sha256sum | cut -d' ' -f1)"

echo "== render and validate the Kubernetes manifests"
for overlay in deploy/kubernetes/overlays/*/; do
  name="$(basename "$overlay")"
  release="$RELEASES/$name"
  mkdir -p "$release"
  cat >"$release/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../overlays/$name
images:
  - name: registry.example.lg.jp/madoguchi/madoguchi
    digest: $DIGEST
YAML
  out="$WORK/rendered/$name.yaml"
  mkdir -p "$WORK/rendered"
  if "$IAC/bin/kubectl" kustomize "$release" >"$out" 2>"$WORK/err"; then
    ok "render $name ($(grep -c '^kind:' "$out") objects)"
  else
    bad "render $name" "$WORK/err"; continue
  fi
  if "$IAC/bin/kubernetes-validate" --strict --quiet "$out" >"$WORK/err" 2>&1; then
    ok "schema $name"
  else
    bad "schema $name" "$WORK/err"
  fi
  if "$ROOT/.venv/bin/python" tools/check_manifests.py "$name" "$out" >"$WORK/err" 2>&1; then
    ok "policy $name"
  else
    bad "policy $name" "$WORK/err"
  fi
done

echo "== checkov (Kubernetes manifests, Dockerfile)"
if "$IAC/bin/checkov" -d "$WORK/rendered" --framework kubernetes --compact --quiet \
    --skip-download >"$WORK/err" 2>&1 && grep -q 'Passed checks: [1-9]' "$WORK/err"; then
  ok "checkov kubernetes ($(grep -o 'Passed checks: [0-9]*' "$WORK/err"))"
else
  bad "checkov kubernetes" "$WORK/err"
fi
if "$IAC/bin/checkov" -f Dockerfile --framework dockerfile --compact --quiet \
    --skip-download >"$WORK/err" 2>&1 && grep -q 'Passed checks: [1-9]' "$WORK/err"; then
  ok "checkov Dockerfile ($(grep -o 'Passed checks: [0-9]*' "$WORK/err"))"
else
  bad "checkov Dockerfile" "$WORK/err"
fi

echo "== hadolint"
if "$IAC/bin/hadolint" Dockerfile >"$WORK/err" 2>&1; then ok "hadolint Dockerfile"; else bad "hadolint Dockerfile" "$WORK/err"; fi

echo "deploy_checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

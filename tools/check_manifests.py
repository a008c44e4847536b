"""Project rules for the rendered Kubernetes manifests (tools/check-deploy.sh), beyond what the
schemas and checkov check:

- every setting of the README's production table is wired: a key of the ConfigMap or of the
  Secret's documented keys (deploy/kubernetes/secrets.example.env);
- the overlay's MADOGUCHI_ROLE is the overlay's name; the public overlay runs no worker, no
  beat and no migration Job (it must not hold the マイナポータル password or run jobs);
- beat: exactly one replica, never two during a rollout (Recreate);
- every Deployment: probes, resources, read-only root, non-root, the Secret as files;
  a PodDisruptionBudget for every Deployment of more than one replica; the HPA scales web.

    python tools/check_manifests.py NAME rendered.yaml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_settings() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*(?:<[^>]+>)?)(?:=[^`]*)?`", first_cell))
    return names


def secret_keys() -> set[str]:
    keys = set()
    for line in (ROOT / "deploy/kubernetes/secrets.example.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            keys.add(line.split("=", 1)[0])
    return keys


def main(name: str, path: str) -> int:
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    errors: list[str] = []

    configmaps = [
        c for c in by_kind.get("ConfigMap", []) if c["metadata"]["name"] == "madoguchi-config"
    ]
    if len(configmaps) != 1:
        errors.append("exactly one ConfigMap madoguchi-config expected")
        data = {}
    else:
        data = configmaps[0]["data"]
    wired = set(data) | secret_keys()
    for setting in sorted(readme_settings()):
        pattern = setting.replace("<", "(").split("(")[0]
        if setting in wired or (setting != pattern and any(k.startswith(pattern) for k in wired)):
            continue
        errors.append(
            f"README setting {setting} is neither in the ConfigMap nor a Secret key: add it to "
            "deploy/kubernetes/base/common/configmap.yaml or deploy/kubernetes/secrets.example.env"
        )
    if data.get("MADOGUCHI_ROLE") != name:
        errors.append(f"MADOGUCHI_ROLE is {data.get('MADOGUCHI_ROLE')!r}, expected {name!r}")

    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    jobs = {j["metadata"]["name"] for j in by_kind.get("Job", [])}
    if name == "public":
        for forbidden in ("madoguchi-worker", "madoguchi-beat"):
            if forbidden in deployments:
                errors.append(f"the public overlay must not run {forbidden}")
        if jobs:
            errors.append("the public overlay must not run the migration Job")
    else:
        for needed in ("madoguchi-web", "madoguchi-worker", "madoguchi-beat"):
            if needed not in deployments:
                errors.append(f"{needed} missing")
        if "madoguchi-migrate" not in jobs:
            errors.append("the migration Job is missing")
        beat = deployments.get("madoguchi-beat")
        if beat is not None:
            if beat["spec"].get("replicas") != 1:
                errors.append("beat must have exactly one replica")
            if beat["spec"].get("strategy", {}).get("type") != "Recreate":
                errors.append("beat must be replaced with Recreate (never two at once)")

    pdb_targets = {
        p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component")
        for p in by_kind.get("PodDisruptionBudget", [])
    }
    for dep_name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        component = dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        if pod.get("automountServiceAccountToken") is not False:
            errors.append(f"{dep_name}: service account token mounted")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        if volumes.get("secrets", {}).get("secret", {}).get("secretName") != "madoguchi-secrets":
            errors.append(f"{dep_name}: the Secret is not mounted as files")
        for container in pod["containers"]:
            where = f"{dep_name}/{container['name']}"
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in container:
                    errors.append(f"{where}: no {probe}")
            resources = container.get("resources", {})
            if not resources.get("requests") or not resources.get("limits"):
                errors.append(f"{where}: requests and limits needed")
            security = container.get("securityContext", {})
            if not security.get("readOnlyRootFilesystem"):
                errors.append(f"{where}: root filesystem must be read-only")
            if security.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where}: privilege escalation allowed")
            if not (
                security.get("runAsNonRoot") or pod.get("securityContext", {}).get("runAsNonRoot")
            ):
                errors.append(f"{where}: may run as root")
            env_from = {e.get("configMapRef", {}).get("name") for e in container.get("envFrom", [])}
            if "madoguchi-config" not in env_from:
                errors.append(f"{where}: the ConfigMap is not wired")
        if dep["spec"].get("replicas", 1) > 1 and component not in pdb_targets:
            errors.append(f"{dep_name}: no PodDisruptionBudget")
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    if not any(h["spec"]["scaleTargetRef"]["name"] == "madoguchi-web" for h in hpas):
        errors.append("no HorizontalPodAutoscaler for madoguchi-web")
    if not by_kind.get("NetworkPolicy"):
        errors.append("no NetworkPolicy")

    for error in errors:
        print(error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

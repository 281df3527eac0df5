#!/usr/bin/env python3
"""Writes the ApplicationSets bench/plan.sh times: a 1,000-element list and a
100 x 10 matrix, in the directory given as the only argument."""
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

TEMPLATE = """  template:
    metadata:
      name: "app-{{env}}-{{region}}"
    spec:
      project: default
      source:
        repoURL: https://charts.example.org
        chart: web
        targetRevision: 1.2.3
        helm:
          valuesObject:
            replicaCount: "{{replicas}}"
            image:
              repository: docker.io/acme/web
              tag: "1.2.3"
            resources:
              requests: {cpu: 100m, memory: 128Mi}
              limits: {cpu: 200m, memory: 256Mi}
      destination:
        server: https://kubernetes.default.svc
        namespace: "web-{{env}}"
"""

with open(os.path.join(out, "list-1000.yaml"), "w") as f:
    f.write("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n")
    f.write("metadata:\n  name: list-1000\nspec:\n  generators:\n    - list:\n        elements:\n")
    for i in range(1000):
        f.write(f'          - env: e{i}\n            region: r{i % 7}\n            replicas: "{1 + i % 5}"\n')
    f.write(TEMPLATE)

with open(os.path.join(out, "matrix-100x10.yaml"), "w") as f:
    f.write("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n")
    f.write("metadata:\n  name: matrix-100x10\nspec:\n  generators:\n    - matrix:\n        generators:\n")
    f.write("          - list:\n              elements:\n")
    for i in range(100):
        f.write(f'                - env: e{i}\n                  replicas: "{1 + i % 5}"\n')
    f.write("          - list:\n              elements:\n")
    for j in range(10):
        f.write(f"                - region: r{j}\n")
    f.write(TEMPLATE)

# A goTemplate with Sprig calls and a templatePatch over 1,000 elements.
with open(os.path.join(out, "gotemplate-sprig-1000.yaml"), "w") as f:
    f.write("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\n")
    f.write("metadata:\n  name: gotemplate-sprig-1000\nspec:\n  goTemplate: true\n")
    f.write('  goTemplateOptions: ["missingkey=error"]\n')
    f.write("  generators:\n    - list:\n        elements:\n")
    for i in range(1000):
        f.write(f'          - env: E{i}\n            region: r{i % 7}\n            replicas: {1 + i % 5}\n')
    f.write("""  template:
    metadata:
      name: '{{ printf "app-%s-%s" (lower .env) .region | trunc 50 }}'
      labels:
        env: '{{ .env | lower | quote | replace "\\"" "" }}'
        tier: '{{ if gt (int .replicas) 2 }}big{{ else }}small{{ end }}'
    spec:
      project: default
      source:
        repoURL: https://charts.example.org
        chart: web
        targetRevision: 1.2.3
        helm:
          releaseName: '{{ .env | lower | sha256sum | trunc 8 }}'
      destination:
        server: https://kubernetes.default.svc
        namespace: 'web-{{ .env | lower }}'
  templatePatch: |
    spec:
      source:
        helm:
          valuesObject:
            replicaCount: {{ .replicas }}
            region: {{ .region | upper | quote }}
      {{- if eq .region "r0" }}
      syncPolicy:
        automated: {prune: false}
      {{- end }}
""")

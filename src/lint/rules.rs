//! The rule book: every rule a finding can name, with why it matters, a wrong
//! and a right example, and the fix. `gitops-e2e explain RULE` prints an
//! entry, `lint --rules` and SARIF reports list them, and a test fails when a
//! rule is emitted anywhere in the source without an entry here.

use super::Severity;

/// One lint rule, as `explain` tells it.
#[derive(Debug)]
pub struct Rule {
    /// Stable kebab-case name, the `rule` of its findings.
    pub name: &'static str,
    /// The severity its findings have.
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters: what Argo CD or the cluster does with the mistake.
    pub rationale: &'static str,
    /// A YAML example with the mistake.
    pub wrong: &'static str,
    /// The same example, right.
    pub right: &'static str,
    /// What to do.
    pub fix: &'static str,
}

/// The rule called `name`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

impl Rule {
    /// What `gitops-e2e explain RULE` prints.
    pub fn explanation(&self) -> String {
        let indent = |text: &str| {
            text.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        };
        format!(
            "{} ({})\n  {}\n\nWhy:\n  {}\n\nWrong:\n{}\nRight:\n{}\nFix:\n  {}\n",
            self.name,
            self.severity,
            self.summary,
            self.rationale,
            indent(self.wrong),
            indent(self.right),
            self.fix
        )
    }
}

/// Every rule with its one-line summary, one a line.
pub fn list() -> String {
    RULES
        .iter()
        .map(|r| format!("{:28} {:7}  {}\n", r.name, r.severity, r.summary))
        .collect()
}

/// Every rule, in the order `lint --rules` lists them.
pub const RULES: &[Rule] = &[
    Rule {
        name: "unquoted-template",
        severity: Severity::Error,
        summary: "a plain YAML scalar starting with `{{` is a flow mapping or a syntax error, not a string",
        rationale: "YAML reads an unquoted `{{name}}` as a mapping inside a mapping, and `{{name}}/rest` as a syntax error. The ApplicationSet does not load, or loads with a map where Argo CD expects a string; the template never sees the placeholder.",
        wrong: r#"valuesObject:
  replicaCount: {{replicas}}
  image:
    repository: {{registry}}/org/app"#,
        right: r#"valuesObject:
  replicaCount: "{{replicas}}"
  image:
    repository: "{{registry}}/org/app""#,
        fix: "Quote every scalar that starts with `{{`, the whole value in one pair of quotes.",
    },
    Rule {
        name: "list-value-not-string",
        severity: Severity::Error,
        summary: "a list generator element has a non-string value; fasttemplate rejects it and nothing is generated",
        rationale: "Without `goTemplate`, Argo CD turns list elements into fasttemplate parameters, which must be strings. A number or boolean fails the whole generator (`error parsing value as string`), and the ApplicationSet generates no Application at all.",
        wrong: r#"generators:
  - list:
      elements:
        - env: prod
          replicas: 5"#,
        right: r#"generators:
  - list:
      elements:
        - env: prod
          replicas: "5""#,
        fix: "Quote the value, or set `goTemplate: true`, which passes list elements as they are.",
    },
    Rule {
        name: "foreign-template-syntax",
        severity: Severity::Error,
        summary: "mustache/handlebars sections, Jinja tags or `${VAR}` substitution that Argo CD does not evaluate",
        rationale: "Argo CD renders fasttemplate (`{{param}}`) or Go templates (`goTemplate: true`). `{{#if}}…{{/if}}`, `{% if %}` and `${VAR}` are not evaluated: they fail to render, or reach the cluster as literal text.",
        wrong: r#"syncPolicy:
  {{#if autoSync}}
  automated: {prune: true}
  {{/if}}"#,
        right: r#"goTemplate: true
templatePatch: |
  {{- if .autoSync }}
  spec:
    syncPolicy:
      automated: {prune: true}
  {{- end }}"#,
        fix: "Use Go template syntax with `goTemplate: true`; put conditional fields in a `templatePatch`.",
    },
    Rule {
        name: "unrendered-placeholder",
        severity: Severity::Error,
        summary: "a `{{…}}` (or `<no value>`) is left in a generated Application",
        rationale: "A placeholder no generator parameter fills stays in the Application as text (fasttemplate) or becomes `<no value>` (Go templates): the cluster gets an image, URL or name that does not exist.",
        wrong: r#"generators:
  - list:
      elements: [{env: dev}]
template:
  spec:
    source:
      helm:
        valuesObject:
          image: "org/app:{{version}}""#,
        right: r#"generators:
  - list:
      elements: [{env: dev, version: v1.2.3}]
template:
  spec:
    source:
      helm:
        valuesObject:
          image: "org/app:{{version}}""#,
        fix: "Give every placeholder a parameter in each generator element (check its spelling), or remove it.",
    },
    Rule {
        name: "matrix-cross-product",
        severity: Severity::Error,
        summary: "a matrix of two independent lists generates every combination, e.g. dev × a production registry",
        rationale: "A matrix pairs every element of its first generator with every element of its second. Two independent lists give every environment every value meant for another: six Applications where three were meant, some of them wrong.",
        wrong: r#"generators:
  - matrix:
      generators:
        - list: {elements: [{env: dev}, {env: prod}]}
        - list: {elements: [{registry: docker.io}, {registry: ghcr.io}]}"#,
        right: r#"generators:
  - list:
      elements:
        - {env: dev, registry: docker.io}
        - {env: prod, registry: ghcr.io}"#,
        fix: "Put per-environment values into one list's elements; keep a matrix only when the second generator depends on the first's parameters.",
    },
    Rule {
        name: "placeholder-server",
        severity: Severity::Error,
        summary: "a destination server or name that is a placeholder or matches no known cluster",
        rationale: "Argo CD only deploys to clusters registered with it. A documentation domain (`example.com`) or an unknown server makes every Application of the ApplicationSet fail with `cluster not found`.",
        wrong: r#"destination:
  server: https://prod-cluster.example.com
  namespace: agents"#,
        right: r#"destination:
  server: https://ABC.gr7.us-east-1.eks.amazonaws.com
  namespace: agents"#,
        fix: "Use the API server URL of a cluster registered in Argo CD (`argocd cluster list`), `https://kubernetes.default.svc` for Argo CD's own cluster, or `destination.name`.",
    },
    Rule {
        name: "destination-server-and-name",
        severity: Severity::Error,
        summary: "a destination with both `server` and `name`, which Argo CD rejects",
        rationale: "`destination.server` and `destination.name` are alternatives. With both set, Argo CD refuses the Application (`application destination can't have both name and server defined`).",
        wrong: r#"destination:
  server: https://kubernetes.default.svc
  name: in-cluster"#,
        right: r#"destination:
  name: in-cluster"#,
        fix: "Keep one of the two: `name` for a cluster registered by name, `server` for its URL.",
    },
    Rule {
        name: "prod-auto-prune",
        severity: Severity::Error,
        summary: "automated sync with `prune: true` on a production-like Application",
        rationale: "With automated sync and pruning, a commit that drops a resource deletes it from production at once, with nobody reviewing the diff.",
        wrong: r#"metadata:
  name: agent-prod
spec:
  syncPolicy:
    automated: {prune: true, selfHeal: true}"#,
        right: r#"metadata:
  name: agent-prod
spec:
  syncPolicy:
    syncOptions: [PruneLast=true]"#,
        fix: "Sync production manually (add `automated` outside production only, e.g. with a `templatePatch`), or set `prune: false`.",
    },
    Rule {
        name: "mutable-image-tag",
        severity: Severity::Warning,
        summary: "an image with tag `latest` or no tag in Helm values, parameters or kustomize images",
        rationale: "A mutable tag lets the same manifest run different code; a rollback to an earlier commit does not roll the image back, and environments drift apart.",
        wrong: r#"valuesObject:
  image:
    repository: ghcr.io/org/app
    tag: latest"#,
        right: r#"valuesObject:
  image:
    repository: ghcr.io/org/app
    tag: v1.2.3"#,
        fix: "Pin an immutable tag (a version or commit) or a digest (`@sha256:…`).",
    },
    Rule {
        name: "mutable-target-revision",
        severity: Severity::Warning,
        summary: "a branch (`HEAD`, `main`, …) or a version range as `targetRevision`",
        rationale: "A branch or a version range deploys whatever it points at when Argo CD next looks: what runs is not what was reviewed. A chart source needs a chart version, not a git branch.",
        wrong: r#"source:
  repoURL: https://charts.example.org
  chart: app
  targetRevision: HEAD"#,
        right: r#"source:
  repoURL: https://charts.example.org
  chart: app
  targetRevision: 1.4.2"#,
        fix: "Pin an exact chart version, git tag or commit.",
    },
    Rule {
        name: "chart-from-git-repo",
        severity: Severity::Error,
        summary: "`chart:` with a git repository URL; Argo CD expects a Helm chart repository there",
        rationale: "With `chart:`, Argo CD reads `repoURL` as a Helm chart repository and fetches its `index.yaml`; a git URL has none, so manifest generation fails.",
        wrong: r#"source:
  repoURL: https://github.com/org/helm-charts
  chart: app
  targetRevision: 1.0.0"#,
        right: r#"source:
  repoURL: https://github.com/org/helm-charts
  path: charts/app
  targetRevision: v1.0.0"#,
        fix: "For a chart kept in git, use `path:` with a git revision; else point `repoURL` at the Helm repository (https with index.yaml, or oci://).",
    },
    Rule {
        name: "missing-pull-secret",
        severity: Severity::Error,
        summary: "an image from a private registry with no `imagePullSecrets` in the same values",
        rationale: "A private registry (ECR, GHCR, GCR, ACR, …) refuses anonymous pulls: without a pull secret the pods stay in ImagePullBackOff.",
        wrong: r#"valuesObject:
  image:
    repository: ghcr.io/org/app
    tag: v1.2.3"#,
        right: r#"valuesObject:
  image:
    repository: ghcr.io/org/app
    tag: v1.2.3
  imagePullSecrets:
    - name: ghcr-credentials"#,
        fix: "Add `imagePullSecrets` to the same values (the chart must pass it to the pod spec) and create that Secret (type kubernetes.io/dockerconfigjson) in the destination namespace.",
    },
    Rule {
        name: "namespace-mismatch",
        severity: Severity::Warning,
        summary: "values set a namespace other than the destination's, no destination namespace, or a system namespace",
        rationale: "Resources land where the destination or their own metadata says. A values namespace that disagrees with the destination, a missing destination namespace, or a system namespace puts the workload somewhere the author did not mean.",
        wrong: r#"destination:
  server: https://kubernetes.default.svc
  namespace: kube-system"#,
        right: r#"destination:
  server: https://kubernetes.default.svc
  namespace: agents
syncPolicy:
  syncOptions: [CreateNamespace=true]"#,
        fix: "Set `destination.namespace` to the workload's own namespace and make the values agree with it.",
    },
    Rule {
        name: "unknown-field",
        severity: Severity::Error,
        summary: "a field the Application/ApplicationSet CRDs do not have; the API server drops it silently",
        rationale: "The API server prunes fields its schema does not know. A misspelled field (`valuesInline`) is accepted and dropped, so what it held never takes effect.",
        wrong: r#"source:
  helm:
    valuesInline:
      replicaCount: 3"#,
        right: r#"source:
  helm:
    valuesObject:
      replicaCount: 3"#,
        fix: "Use the field the CRD has (the finding suggests the closest one).",
    },
    Rule {
        name: "missing-resources",
        severity: Severity::Warning,
        summary: "no resource requests/limits in the Helm values, limits without requests, or limit below request",
        rationale: "Pods without requests are scheduled as if they needed nothing and can starve their neighbours; a limit below its request is refused.",
        wrong: r#"valuesObject:
  image: {repository: org/app, tag: v1}"#,
        right: r#"valuesObject:
  image: {repository: org/app, tag: v1}
  resources:
    requests: {cpu: 250m, memory: 256Mi}
    limits: {memory: 512Mi}"#,
        fix: "Set `resources.requests` (cpu, memory) and at least a memory limit, sized per environment.",
    },
    Rule {
        name: "duplicate-application-name",
        severity: Severity::Error,
        summary: "two generated Applications with the same name fight over one object",
        rationale: "Argo CD keeps one Application per name: parameter sets that render the same name overwrite each other, and the ApplicationSet reports an error.",
        wrong: r#"template:
  metadata:
    name: "app-{{env}}"   # two elements have env: dev"#,
        right: r#"template:
  metadata:
    name: "app-{{env}}-{{region}}""#,
        fix: "Make the name template use parameters that differ in every parameter set.",
    },
    Rule {
        name: "invalid-application-name",
        severity: Severity::Error,
        summary: "a generated Application name the API server refuses (not a DNS-1123 subdomain)",
        rationale: "Names must be lowercase letters, digits, `-` and `.`, at most 253 characters. A name rendered from a parameter with capitals, `_` or `/` is refused, and that Application is never created.",
        wrong: r#"template:
  metadata:
    name: "app-{{branch}}"   # branch: feature/Login"#,
        right: r#"template:
  metadata:
    name: "app-{{branch_slug}}"   # branch_slug: feature-login"#,
        fix: "Render names from parameters that are already valid names (lowercase, no `_` or `/`).",
    },
    Rule {
        name: "appset-invalid",
        severity: Severity::Error,
        summary: "the ApplicationSet has no usable `spec`",
        rationale: "Without `spec.generators` and `spec.template`, Argo CD has nothing to generate.",
        wrong: r#"kind: ApplicationSet
metadata: {name: apps}
spec: {}"#,
        right: r#"kind: ApplicationSet
metadata: {name: apps}
spec:
  generators: [{list: {elements: [{env: dev}]}}]
  template: {metadata: {name: "app-{{env}}"}, spec: {project: default}}"#,
        fix: "Give the ApplicationSet a `spec` with `generators` and a `template`.",
    },
    Rule {
        name: "generator-unknown",
        severity: Severity::Error,
        summary: "a generator entry names no generator Argo CD knows",
        rationale: "A misspelled generator (`lists:`) is no generator at all: Argo CD reports an error and generates nothing from it.",
        wrong: r#"generators:
  - lists:
      elements: [{env: dev}]"#,
        right: r#"generators:
  - list:
      elements: [{env: dev}]"#,
        fix: "Use one of list, clusters, git, matrix, merge, scmProvider, pullRequest, clusterDecisionResource, plugin.",
    },
    Rule {
        name: "generator-unsupported",
        severity: Severity::Error,
        summary: "a generator the offline plan cannot evaluate (e.g. SCM provider, pull request)",
        rationale: "Some generators ask a remote service (an SCM provider, a pull request API, a plugin) what to generate; the offline plan cannot know the answer.",
        wrong: r#"generators:
  - pullRequest:
      github: {owner: org, repo: app}"#,
        right: r#"# plan what can be planned offline; check the rest live
generators:
  - list:
      elements: [{branch: main}]"#,
        fix: "Check what the generator produces on a real Argo CD (`gitops-e2e run`).",
    },
    Rule {
        name: "generator-error",
        severity: Severity::Error,
        summary: "a generator fails in Argo CD; the whole ApplicationSet generates nothing",
        rationale: "When any generator fails, Argo CD sets `ErrorOccurred` on the ApplicationSet and creates or updates none of its Applications.",
        wrong: r#"generators:
  - clusters:
      selector:
        matchExpressions:
          - {key: env, operator: Equals, values: [prod]}"#,
        right: r#"generators:
  - clusters:
      selector:
        matchExpressions:
          - {key: env, operator: In, values: [prod]}"#,
        fix: "Fix the generator as the message says: while the error stands, no Application of the ApplicationSet is created or updated.",
    },
    Rule {
        name: "git-repo-not-served",
        severity: Severity::Error,
        summary: "a git generator's repository is not served locally by the scenario",
        rationale: "A git generator reads files or directories of a repository; the plan and the live run read them from the scenario's local copy, and this repository has none.",
        wrong: r#"# scenario
spec:
  repos: []"#,
        right: r#"# scenario
spec:
  repos:
    - url: https://github.com/org/deploy
      path: ../deploy"#,
        fix: "Add the repository to the scenario's `repos` with the local directory that serves it.",
    },
    Rule {
        name: "git-revision-not-found",
        severity: Severity::Error,
        summary: "a git generator's `revision` names no branch, tag or commit of the served checkout",
        rationale: "Argo CD's repo-server resolves `revision` to a commit before it reads any file; a revision that resolves to nothing fails the ApplicationSet, which then generates nothing.",
        wrong: r#"generators:
  - git:
      repoURL: https://github.com/org/deploy
      revision: releses/v2        # misspelled branch
      directories: [{path: apps/*}]"#,
        right: r#"generators:
  - git:
      repoURL: https://github.com/org/deploy
      revision: release/v2
      directories: [{path: apps/*}]"#,
        fix: "Name a branch, a tag, `HEAD` or a commit SHA that exists in the repository (git-only forms such as `main~1` are not resolved by Argo CD).",
    },
    Rule {
        name: "git-revision-ignored",
        severity: Severity::Warning,
        summary: "a git generator sets `revision`, but the directory served for its repository is not a git checkout",
        rationale: "The plan can only read a revision from a git checkout; a plain directory is read as it is, so the result may differ from what Argo CD reads at that revision.",
        wrong: r#"# scenario: repos: [{url: https://github.com/org/deploy, path: ../deploy-copy}]
generators:
  - git: {repoURL: https://github.com/org/deploy, revision: v2, files: [{path: "*.json"}]}"#,
        right: r#"# scenario: repos: [{url: https://github.com/org/deploy, path: ../deploy}]  # a git checkout
generators:
  - git: {repoURL: https://github.com/org/deploy, revision: v2, files: [{path: "*.json"}]}"#,
        fix: "Serve a git checkout of the repository in the scenario's `repos`, or leave `revision` at `HEAD`.",
    },
    Rule {
        name: "repo-uncommitted-changes",
        severity: Severity::Warning,
        summary: "a git generator's served checkout has uncommitted or untracked files, which neither the plan nor Argo CD reads",
        rationale: "Argo CD reads the repository at a commit; edits that are not committed (and pushed) are not part of what it generates, so a plan that looked at them would promise something Argo CD does not do.",
        wrong: r#"$ git status --porcelain
?? apps/new-service/config.json   # the plan at HEAD does not see it"#,
        right: r#"$ git add apps/new-service && git commit -m "new service"
$ git status --porcelain           # clean"#,
        fix: "Commit the changes the ApplicationSet should see (and push them before Argo CD reads the repository), or discard them.",
    },
    Rule {
        name: "template-render-error",
        severity: Severity::Error,
        summary: "the template fails to render for a parameter set; the whole ApplicationSet generates nothing",
        rationale: "A template that fails for one parameter set stops the ApplicationSet: Argo CD reports the error and creates or updates no Application.",
        wrong: r#"goTemplate: true
template:
  metadata:
    name: '{{ .env | upper }}'"#,
        right: r#"goTemplate: true
template:
  metadata:
    name: '{{ .env | lower }}'"#,
        fix: "Fix the template expression; with goTemplate check parameter names and functions (Sprig without env/expandenv).",
    },
    Rule {
        name: "template-option-invalid",
        severity: Severity::Error,
        summary: "a goTemplateOptions entry is not an option Go's text/template knows; the ApplicationSet generates nothing",
        rationale: "Argo CD hands each entry to Go's Template.Option, which panics on anything but missingkey=default, invalid, zero or error (spaces included): the first Go template rendered fails with `unrecognized option`, and nothing is generated.",
        wrong: r#"goTemplate: true
goTemplateOptions: ["missingkey=warn"]"#,
        right: r#"goTemplate: true
goTemplateOptions: ["missingkey=error"]"#,
        fix: "Use missingkey=error (or zero, default, invalid), written exactly, or drop the entry.",
    },
    Rule {
        name: "matrix-children",
        severity: Severity::Error,
        summary: "a matrix generator needs exactly two child generators",
        rationale: "Argo CD refuses a matrix with fewer or more than two children, and the ApplicationSet generates nothing.",
        wrong: r#"matrix:
  generators:
    - list: {elements: [{env: dev}]}"#,
        right: r#"matrix:
  generators:
    - list: {elements: [{env: dev}]}
    - clusters: {selector: {matchLabels: {env: dev}}}"#,
        fix: "Give the matrix exactly two child generators (nest a matrix for more).",
    },
    Rule {
        name: "matrix-key-conflict",
        severity: Severity::Error,
        summary: "the two children of a matrix give one parameter different values",
        rationale: "With fasttemplate, a parameter both children set to different values is an error and the matrix generates nothing.",
        wrong: r#"matrix:
  generators:
    - list: {elements: [{name: dev}]}
    - clusters: {}   # also sets `name`"#,
        right: r#"matrix:
  generators:
    - list: {elements: [{env: dev}]}
    - clusters: {}"#,
        fix: "Rename the parameter in one child, or set `goTemplate: true` (the first child's value then wins).",
    },
    Rule {
        name: "merge-children",
        severity: Severity::Error,
        summary: "a merge generator needs at least two child generators",
        rationale: "A merge of one generator has nothing to merge into; Argo CD refuses it.",
        wrong: r#"merge:
  mergeKeys: [env]
  generators:
    - list: {elements: [{env: dev}]}"#,
        right: r#"merge:
  mergeKeys: [env]
  generators:
    - list: {elements: [{env: dev, replicas: "1"}]}
    - list: {elements: [{env: dev, replicas: "2"}]}"#,
        fix: "Give the merge generator at least two child generators.",
    },
    Rule {
        name: "merge-keys",
        severity: Severity::Error,
        summary: "a merge generator needs `mergeKeys`",
        rationale: "Without `mergeKeys` the merge generator cannot tell which parameter sets belong together; Argo CD refuses it.",
        wrong: r#"merge:
  generators: [...]"#,
        right: r#"merge:
  mergeKeys: [env]
  generators: [...]"#,
        fix: "List the parameters that identify a parameter set in `mergeKeys`.",
    },
    Rule {
        name: "merge-non-unique-keys",
        severity: Severity::Error,
        summary: "a merge generator's merge keys do not identify parameter sets uniquely",
        rationale: "When two parameter sets of one child have the same merge key values, Argo CD cannot tell which to merge into and fails the generator.",
        wrong: r#"merge:
  mergeKeys: [env]
  generators:
    - list: {elements: [{env: dev, region: eu}, {env: dev, region: us}]}
    - list: {elements: [{env: dev, replicas: "2"}]}"#,
        right: r#"merge:
  mergeKeys: [env, region]
  generators:
    - list: {elements: [{env: dev, region: eu}, {env: dev, region: us}]}
    - list: {elements: [{env: dev, region: eu, replicas: "2"}]}"#,
        fix: "Choose `mergeKeys` whose values are unique in every child generator.",
    },
    Rule {
        name: "merge-type-error",
        severity: Severity::Error,
        summary: "a merge generator overrides a map parameter with a value it cannot be merged into",
        rationale: "Merging an override whose parameter is a map into a base parameter that is a map of strings makes Argo CD's merge panic: the ApplicationSet generates nothing.",
        wrong: r#"goTemplate: true
generators:
  - merge:
      mergeKeys: [env]
      generators:
        - clusters: {}            # `metadata.labels` is a map of strings
        - list:
            elements: [{env: dev, metadata: {labels: {team: {a: b}}}}]"#,
        right: r#"goTemplate: true
generators:
  - merge:
      mergeKeys: [env]
      generators:
        - clusters: {}
        - list:
            elements: [{env: dev, team: a}]"#,
        fix: "Override with parameters of the same shape as the base's, or give the override its own parameter name.",
    },
    Rule {
        name: "max-applications",
        severity: Severity::Error,
        summary: "the ApplicationSet expands to more Applications than `--max-applications` allows",
        rationale: "A runaway matrix (two large generators) can generate thousands of Applications; the plan stops at the limit instead of taking the machine's memory.",
        wrong: r#"matrix:
  generators:
    - git: {files: [{path: "apps/*/config.json"}]}
    - clusters: {}"#,
        right: r#"matrix:
  generators:
    - git: {files: [{path: "apps/*/config.json"}]}
    - clusters: {selector: {matchLabels: {env: prod}}}"#,
        fix: "Narrow the generators; if so many Applications are meant, raise `--max-applications`.",
    },
    Rule {
        name: "max-render-time",
        severity: Severity::Error,
        summary: "one Application takes longer to render than `--max-render-time` allows",
        rationale: "A template that loops over large parameters can render for minutes; the plan stops it at the limit.",
        wrong: r#"goTemplate: true
template:
  metadata:
    name: '{{ range $i := until 100000000 }}x{{ end }}'"#,
        right: r#"goTemplate: true
template:
  metadata:
    name: 'app-{{ .env }}'"#,
        fix: "Simplify the template; if it is meant, raise `--max-render-time`.",
    },
    Rule {
        name: "max-application-size",
        severity: Severity::Error,
        summary: "a rendered Application is larger than `--max-application-size` (default: etcd's 1.5 MiB)",
        rationale: "The API server cannot store an object larger than etcd's request limit; such an Application is never created.",
        wrong: r#"source:
  helm:
    values: |
      {{ .hugeBlob }}"#,
        right: r#"source:
  helm:
    valueFiles: [values-prod.yaml]"#,
        fix: "Move large values into files of the source repository; if the size is meant, raise `--max-application-size`.",
    },
    Rule {
        name: "render-limit",
        severity: Severity::Error,
        summary: "a Go template string takes more steps or output than `--max-render-steps`/`--max-render-output` allow",
        rationale: "A template with deep loops or repeated output can run out of any budget; the plan stops it at the limit instead of hanging.",
        wrong: r#"goTemplate: true
template:
  metadata:
    annotations:
      big: '{{ repeat 100000000 "x" }}'"#,
        right: r#"goTemplate: true
template:
  metadata:
    annotations:
      team: '{{ .team }}'"#,
        fix: "Simplify the template; if the work is meant, raise `--max-render-steps` or `--max-render-output`.",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use regex::Regex;

    use super::*;

    /// Every rule name the source can put into a finding: `rule: "…"` in a
    /// lint draft or expansion error, `Failure::new("…"` in a generator,
    /// and the `…_RULE` constants of the expansion's limits.
    fn emitted_rules() -> BTreeSet<String> {
        let patterns = [
            Regex::new(r#"\brule:\s*"([a-z][a-z0-9-]*)""#).unwrap(),
            Regex::new(r#"Failure::new\(\s*"([a-z][a-z0-9-]*)""#).unwrap(),
            Regex::new(r#"const [A-Z_]*RULE: &str = "([a-z][a-z0-9-]*)""#).unwrap(),
        ];
        let mut found = BTreeSet::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for re in &patterns {
                        for c in re.captures_iter(&text) {
                            found.insert(c[1].to_string());
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_rule_the_source_emits_is_explained() {
        let emitted = emitted_rules();
        // The scan itself still works: it sees rules of each family.
        for known in ["unquoted-template", "generator-error", "max-render-time"] {
            assert!(emitted.contains(known), "the scan missed `{known}`");
        }
        let missing: Vec<_> = emitted.iter().filter(|r| rule(r).is_none()).collect();
        assert!(
            missing.is_empty(),
            "rules emitted without an entry in RULES: {missing:?}"
        );
        let unused: Vec<_> = RULES
            .iter()
            .filter(|r| !emitted.contains(r.name))
            .map(|r| r.name)
            .collect();
        assert!(unused.is_empty(), "RULES entries nothing emits: {unused:?}");
    }

    /// A finding about one Application starts "Application `NAME`: ", which
    /// grouping strips to show one finding per mistake.
    #[test]
    fn every_application_message_starts_with_the_prefix_grouping_strips() {
        let opening = Regex::new(r#""Application `\{[^}]*\}`(.)"#).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lint");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for c in opening.captures_iter(&text) {
                seen += 1;
                assert_eq!(&c[1], ":", "{}: {}", path.display(), &c[0]);
            }
        }
        assert!(seen >= 8, "the scan found only {seen} messages");
    }

    #[test]
    fn every_explanation_is_complete_and_its_right_example_is_yaml() {
        for r in RULES {
            for (what, text) in [
                ("summary", r.summary),
                ("rationale", r.rationale),
                ("wrong", r.wrong),
                ("right", r.right),
                ("fix", r.fix),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {what}", r.name);
            }
            assert_ne!(r.wrong, r.right, "{}", r.name);
            let docs = crate::yaml::parse(r.right)
                .unwrap_or_else(|e| panic!("{}: right example: {e}", r.name));
            assert!(
                docs.iter().all(|d| d.recoveries.is_empty()),
                "{}: the right example needs repairs",
                r.name
            );
        }
    }
}

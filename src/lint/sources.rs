//! Where sources are fetched from.

use serde_json::Value;

use super::{Draft, Emitter, Severity, Target};

/// A URL that names a git repository rather than a Helm chart repository.
fn git_repository(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    if u.starts_with("oci://") {
        return false;
    }
    let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    u.starts_with("git@")
        || u.ends_with(".git")
        || ["github.com", "gitlab.com", "bitbucket.org", "dev.azure.com"].contains(&host)
}

/// `chart-from-git-repo`: `chart:` with a git repository URL.
pub fn chart_from_git_repo(out: &mut Emitter<'_>, t: &Target<'_>) {
    for (sp, source) in t.sources() {
        let Some(chart) = source
            .get("chart")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        let Some(url) = source.get("repoURL").and_then(Value::as_str) else {
            continue;
        };
        if url.contains("{{") || !git_repository(url) {
            continue;
        }
        out.emit(
            Draft {
                rule: "chart-from-git-repo",
                severity: Severity::Error,
                application: t.application(),
                message: format!(
                    "Application `{}`: the source names the Helm chart `{chart}` in `{url}`, a git \
                     repository; with `chart:` Argo CD reads `repoURL` as a Helm chart repository \
                     (it fetches `index.yaml`), so manifest generation fails",
                    t.name
                ),
                advice: format!(
                    "for a chart kept in git, drop `chart:` and set `path:` to the chart's \
                     directory (e.g. `path: charts/{chart}`) with a git `targetRevision`; else \
                     point `repoURL` at the Helm repository (https with index.yaml, or oci://)"
                ),
            },
            &t.origin(&format!("{sp}/chart")),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use super::git_repository;

    #[test]
    fn git_urls() {
        assert!(git_repository("https://github.com/your-org/helm-charts"));
        assert!(git_repository("git@github.com:org/charts.git"));
        assert!(git_repository("https://git.corp/charts.git"));
        assert!(!git_repository("https://charts.bitnami.com/bitnami"));
        assert!(!git_repository("oci://ghcr.io/org/charts"));
        assert!(!git_repository("ghcr.io/org/charts"));
    }

    #[test]
    fn lesson_chart_in_github_repo() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let c = of_rule(&f, "chart-from-git-repo");
        assert_eq!(c.len(), 6);
        assert_eq!(
            c[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/source/chart")
        );
        let e = expansion(vec![app("ok", good_spec("ok"), json!({}))]);
        assert!(of_rule(&lint(&d, &e), "chart-from-git-repo").is_empty());
    }
}

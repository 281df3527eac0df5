//! Generator shapes that generate something else than meant.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::util::{ENV_WORDS, dotted, has_word, list_text, scalar_text, strings, walk};
use super::{Draft, Emitter, Severity};
use crate::appset::Environment;
use crate::appset::generators::git::find_repo;
use crate::appset::generators::tree;

/// An identifier inside a `{{…}}`: `name`, `.name`, `values.x`.
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_\-]*").expect("static regex"));
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{(.*?)\}\}").expect("static regex"));

fn elements(child: &Value) -> Option<&Vec<Value>> {
    child.get("list")?.get("elements")?.as_array()
}

/// What a list element is called in a message: its first scalar value.
fn label(element: &Value) -> String {
    match element {
        Value::Object(m) => m
            .values()
            .find_map(scalar_text)
            .unwrap_or_else(|| "{…}".to_string()),
        other => scalar_text(other).unwrap_or_else(|| "…".to_string()),
    }
}

/// Whether any `{{…}}` in `child` uses one of `keys`.
fn references(child: &Value, keys: &BTreeSet<String>) -> bool {
    strings(child, "").iter().any(|(_, text)| {
        PLACEHOLDER.captures_iter(text).any(|c| {
            IDENT
                .find_iter(&c[1])
                .any(|m| keys.contains(m.as_str().split('.').next().unwrap_or_default()))
        })
    })
}

fn env_like(items: &[Value]) -> bool {
    items
        .iter()
        .flat_map(|e| strings(e, ""))
        .any(|(_, s)| has_word(s, ENV_WORDS))
}

/// `matrix-cross-product`: a matrix of two lists where the second does not
/// depend on the first.
pub fn matrix_cross_product(out: &mut Emitter<'_>) {
    let doc = out.doc;
    let Some(gens) = doc.value.pointer("/spec/generators") else {
        return;
    };
    let mut matrices = Vec::new();
    walk(gens, "/spec/generators", &mut |p, key, v| {
        if key == Some("matrix") && v.get("generators").is_some() {
            matrices.push((p.to_string(), v));
        }
    });
    for (pointer, m) in matrices {
        let Some([first, second]) = m
            .get("generators")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        else {
            continue;
        };
        let (Some(a), Some(b)) = (elements(first), elements(second)) else {
            continue;
        };
        if a.len() < 2 || b.len() < 2 {
            continue;
        }
        let keys: BTreeSet<String> = a
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().cloned())
            .collect();
        if references(second, &keys) {
            continue;
        }
        let combos: Vec<String> = a
            .iter()
            .flat_map(|x| {
                b.iter()
                    .map(move |y| format!("{} × {}", label(x), label(y)))
            })
            .collect();
        let second_keys: Vec<String> = b
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().map(|k| format!("`{k}`")))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let envs = env_like(a) || env_like(b);
        out.emit(
            Draft {
                rule: "matrix-cross-product",
                severity: if envs {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                application: None,
                message: format!(
                    "the matrix generator at `{}` pairs every element of its first list with every \
                     element of an independent second list ({} × {} = {} Applications){}: {}",
                    dotted(&pointer),
                    a.len(),
                    b.len(),
                    combos.len(),
                    if envs {
                        ", so each environment gets every value meant for another"
                    } else {
                        ""
                    },
                    list_text(&combos, 12)
                ),
                advice: format!(
                    "put the per-environment value ({}) into each element of the first list and \
                     use that list generator alone; keep a matrix only when the second generator \
                     depends on the first's parameters",
                    list_text(&second_keys, 4)
                ),
            },
            &pointer,
        );
    }
}

/// `git-revision-ignored` and `repo-uncommitted-changes`: a git generator
/// whose served directory cannot show what Argo CD would read at `revision`,
/// or holds edits that Argo CD would not see.
pub fn git_generator_sources(out: &mut Emitter<'_>, env: &Environment) {
    let doc = out.doc;
    let Some(gens) = doc.value.pointer("/spec/generators") else {
        return;
    };
    let mut found = Vec::new();
    walk(gens, "/spec/generators", &mut |p, key, v| {
        if key == Some("git") && v.get("repoURL").is_some() {
            found.push((p.to_string(), v));
        }
    });
    for (pointer, git) in found {
        let url = git
            .get("repoURL")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if url.contains("{{") {
            continue;
        }
        let Some(mount) = find_repo(env, url) else {
            continue;
        };
        let revision = git
            .get("revision")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let at = if git.get("revision").is_some() {
            format!("{pointer}/revision")
        } else {
            pointer.clone()
        };
        let dir = mount.path.display();
        // A checkout that git cannot read is the expansion's error to report.
        match tree::checkout(&mount.path) {
            Ok(None) => {
                if revision.is_empty() || revision == "HEAD" || revision.contains("{{") {
                    continue;
                }
                let live = if revision == "main" || revision == "master" {
                    ""
                } else {
                    "; a live run serves the directory as one commit on `main` and `master`, \
                     where it does not exist either"
                };
                out.emit(
                    Draft {
                        rule: "git-revision-ignored",
                        severity: Severity::Warning,
                        application: None,
                        message: format!(
                            "the git generator at `{}` asks for revision `{revision}`, but \
                             `{dir}` (serving `{url}`) is not in a git checkout: the plan reads \
                             its files as they are on disk, not at `{revision}`",
                            dotted(&pointer)
                        ),
                        advice: format!(
                            "serve a clone of the repository so that `{revision}` can be read{live}"
                        ),
                    },
                    &at,
                );
            }
            Ok(Some(checkout)) => {
                let Ok(changes) = tree::uncommitted(&checkout) else {
                    continue;
                };
                let changes: Vec<String> =
                    changes.iter().map(|c| c.trim_start().to_string()).collect();
                if changes.is_empty() {
                    continue;
                }
                let shown = if revision.is_empty() {
                    "HEAD"
                } else {
                    revision
                };
                // A templated revision is known only per parameter set; one
                // that resolves to nothing is the expansion's error.
                let commit = if revision.contains("{{") {
                    String::new()
                } else {
                    let Ok(Some(sha)) = tree::resolve(&checkout, shown) else {
                        continue;
                    };
                    format!(" ({})", &sha[..sha.len().min(12)])
                };
                out.emit(
                    Draft {
                        rule: "repo-uncommitted-changes",
                        severity: Severity::Warning,
                        application: None,
                        message: format!(
                            "`{dir}` (serving `{url}`) has uncommitted changes ({}): the git \
                             generator at `{}` reads the committed tree at `{shown}`{commit}, as \
                             Argo CD reads the repository, so these edits are not part of the plan",
                            list_text(&changes, 5),
                            dotted(&pointer)
                        ),
                        advice: "commit the changes (and push them, for Argo CD to see them) to \
                                 plan with them, or stash them; a live run serves the directory \
                                 as it is on disk, edits included, so until then it generates \
                                 from other files than this plan"
                            .to_string(),
                    },
                    &at,
                );
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use serde_json::Value;

    use super::super::testutil::*;
    use crate::appset::generators::tree::testrepo::TestRepo;
    use crate::appset::{Environment, Expansion, RepoMount};
    use crate::lint::Severity;

    #[test]
    fn lesson_matrix_is_an_error_listing_combinations() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let m = of_rule(&f, "matrix-cross-product");
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(m[0].severity, Severity::Error);
        assert!(m[0].message.contains("dev × ghcr.io"));
        assert!(m[0].message.contains("prod × docker.io"));
        assert!(m[0].message.contains("3 × 2 = 6"));
        assert!(m[0].advice.contains("`registry`"));
        assert_eq!(
            m[0].location.as_ref().unwrap().pos,
            d.pos("/spec/generators/0/matrix")
        );
    }

    #[test]
    fn independent_lists_without_environments_warn() {
        let d = doc(json!({"spec": {"generators": [{"matrix": {"generators": [
            {"list": {"elements": [{"app": "api"}, {"app": "web"}]}},
            {"list": {"elements": [{"region": "eu-west-1"}, {"region": "us-east-1"}]}}
        ]}}]}}));
        let f = lint(&d, &Expansion::default());
        let m = of_rule(&f, "matrix-cross-product");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].severity, Severity::Warning);
    }

    fn served(path: std::path::PathBuf) -> Environment {
        Environment {
            clusters: vec![],
            repos: vec![RepoMount {
                url: "https://github.com/org/repo".into(),
                path,
            }],
        }
    }

    fn git_appset(revision: Value) -> crate::yaml::Document {
        doc(json!({"spec": {"generators": [{"matrix": {"generators": [
            {"list": {"elements": [{"name": "dev"}]}},
            {"git": {"repoURL": "https://github.com/org/repo.git", "revision": revision,
                     "directories": [{"path": "apps/*"}]}}
        ]}}]}}))
    }

    #[test]
    fn a_revision_a_plain_directory_cannot_honour_warns() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let env = served(dir.path().to_path_buf());
        let f = lint_env(&git_appset(json!("v1")), &Expansion::default(), &env);
        let w = of_rule(&f, "git-revision-ignored");
        assert_eq!(w.len(), 1, "{f:#?}");
        assert_eq!(w[0].severity, Severity::Warning);
        assert!(w[0].message.contains("revision `v1`"), "{}", w[0].message);
        assert!(w[0].message.contains("not in a git checkout"));
        assert!(w[0].advice.contains("clone"));
        for quiet in [json!("HEAD"), json!(""), json!(null), json!("{{ .rev }}")] {
            let f = lint_env(&git_appset(quiet), &Expansion::default(), &env);
            assert!(of_rule(&f, "git-revision-ignored").is_empty(), "{f:#?}");
        }
    }

    #[test]
    fn uncommitted_changes_in_the_served_checkout_warn_only_when_there_are_some() {
        let repo = TestRepo::new();
        repo.write("apps/api/config.json", "{}");
        let sha = repo.commit("first");
        let env = served(repo.path());
        let clean = lint_env(&git_appset(json!("HEAD")), &Expansion::default(), &env);
        assert!(
            of_rule(&clean, "repo-uncommitted-changes").is_empty(),
            "{clean:#?}"
        );
        assert!(of_rule(&clean, "git-revision-ignored").is_empty());

        repo.write("apps/api/config.json", r#"{"a": 1}"#);
        repo.write("apps/new/config.json", "{}");
        let f = lint_env(&git_appset(json!("main")), &Expansion::default(), &env);
        let w = of_rule(&f, "repo-uncommitted-changes");
        assert_eq!(w.len(), 1, "{f:#?}");
        assert_eq!(w[0].severity, Severity::Warning);
        assert!(
            w[0].message
                .contains("M apps/api/config.json, ?? apps/new/config.json"),
            "{}",
            w[0].message
        );
        assert!(
            w[0].message
                .contains(&format!("committed tree at `main` ({})", &sha[..12])),
            "{}",
            w[0].message
        );
        assert!(!w[0].advice.is_empty());
        let unknown = lint_env(&git_appset(json!("nope")), &Expansion::default(), &env);
        assert!(
            of_rule(&unknown, "repo-uncommitted-changes").is_empty(),
            "{unknown:#?}"
        );
    }

    #[test]
    fn dependent_or_single_element_children_are_fine() {
        for second in [
            json!({"list": {"elements": [{"path": "{{name}}/a"}, {"path": "{{name}}/b"}]}}),
            json!({"list": {"elements": [{"path": "{{ .name }}/a"}, {"path": "x"}]}}),
            json!({"list": {"elements": [{"registry": "docker.io"}]}}),
            json!({"clusters": {}}),
        ] {
            let d = doc(json!({"spec": {"generators": [{"matrix": {"generators": [
                {"list": {"elements": [{"name": "dev"}, {"name": "prod"}]}},
                second
            ]}}]}}));
            let f = lint(&d, &Expansion::default());
            assert!(of_rule(&f, "matrix-cross-product").is_empty(), "{f:#?}");
        }
    }
}

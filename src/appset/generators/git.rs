//! The git generator (`generators/git.go`): `directories` and `files`, read
//! from the local directory a scenario serves in place of `repoURL`.
//!
//! Directories: every directory of the checkout except hidden ones, in
//! `filepath.WalkDir` order, kept when some include pattern matches it with
//! Go's `path.Match` and no `exclude: true` pattern does. Files: the union of
//! the include patterns minus the exclude patterns, matched like
//! `git ls-files -- <pattern>` (Argo CD's default: `*` also crosses `/`, a
//! pattern without wildcards names a file or a directory prefix), sorted.
//!
//! What is listed and read is [`Tree`]: when the served directory is in a
//! git checkout, the commit `revision` names (empty is `HEAD`), as Argo CD's
//! repo-server reads it; uncommitted edits and untracked files do not count,
//! and a revision that names no branch, tag or commit is
//! `git-revision-not-found`. Elsewhere the directory as it is on disk.

use serde_json::{Map, Value};

use super::tree::{OpenError, Tree};
use super::{Ctx, Failure, Params, append_templated_values};
use crate::appset::template::sanitize_name;
use crate::appset::{Environment, RepoMount};
use crate::yaml::pointer_push;

pub fn generate(spec: &Value, pointer: &str, ctx: &Ctx<'_>) -> Result<Vec<Params>, Failure> {
    let url = spec
        .get("repoURL")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url_pointer = pointer_push(pointer, "repoURL");
    let Some(mount) = find_repo(ctx.env, url) else {
        return Err(Failure::new(
            "git-repo-not-served",
            &url_pointer,
            format!("repository `{url}` is not served locally: add it to the scenario's `repos`"),
        ));
    };
    let prefix = spec
        .get("pathParamPrefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let values = spec.get("values");
    let values_pointer = pointer_push(pointer, "values");
    let items = |key: &str| -> Vec<(String, bool)> {
        spec.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i.get("path")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            i.get("exclude").and_then(Value::as_bool).unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let directories = items("directories");
    let files = items("files");
    let wrap = "error generating params from git";
    let walk_err = |e: String| Failure::new("generator-error", pointer, e).wrap(wrap);
    let revision = spec
        .get("revision")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Argo CD's repo-server resolves the revision before it lists anything.
    let open = |retrieving: &str, getting: Option<&str>| {
        Tree::open(&mount.path, revision).map_err(|e| {
            let failure = match e {
                OpenError::RevisionNotFound { revision, top } => Failure::new(
                    "git-revision-not-found",
                    &pointer_push(pointer, "revision"),
                    format!(
                        "unable to resolve '{revision}' to a commit SHA: no branch, tag or \
                         commit `{revision}` in the git checkout `{}`, which serves \
                         repository `{url}`",
                        top.display()
                    ),
                ),
                OpenError::Other(message) => Failure::new("generator-error", pointer, message),
            };
            let failure = failure.wrap(retrieving);
            match getting {
                Some(getting) => failure.wrap(getting),
                None => failure,
            }
            .wrap(wrap)
        })
    };

    let mut out = Vec::new();
    if !directories.is_empty() {
        let tree = open(
            "error retrieving Git Directories",
            Some("error getting directories from repo"),
        )?;
        let (dirs, _) = tree.walk().map_err(walk_err)?;
        for dir in dirs {
            let mut include = false;
            let mut exclude = false;
            for (pattern, is_exclude) in &directories {
                if path_match(pattern, &dir).unwrap_or(false) {
                    if *is_exclude {
                        exclude = true;
                    } else {
                        include = true;
                    }
                }
            }
            if include && !exclude {
                let mut params = directory_params(&dir, prefix, ctx.opts.go_template);
                append_templated_values(values, &mut params, ctx.opts, &values_pointer).map_err(
                    |e| {
                        e.wrap(
                            "error generating params from apps: failed to append templated values",
                        )
                        .wrap(wrap)
                    },
                )?;
                out.push(params);
            }
        }
    } else if !files.is_empty() {
        let tree = open("error retrieving Git files", None)?;
        let (_, all_files) = tree.walk().map_err(walk_err)?;
        let mut selected: Vec<&String> = all_files
            .iter()
            .filter(|f| files.iter().any(|(p, ex)| !ex && pathspec_match(p, f)))
            .filter(|f| !files.iter().any(|(p, ex)| *ex && pathspec_match(p, f)))
            .collect();
        selected.sort();
        for file in selected {
            let objects = read_objects(&tree, file).map_err(|e| {
                Failure::new(
                    "generator-error",
                    &pointer_push(pointer, "files"),
                    format!("unable to parse file: {e}"),
                )
                .wrap(&format!(
                    "unable to process file '{file}' from repository '{url}'"
                ))
                .wrap(wrap)
            })?;
            for object in objects {
                let mut params = file_params(file, object, prefix, ctx.opts.go_template);
                append_templated_values(values, &mut params, ctx.opts, &values_pointer)
                    .map_err(|e| e.wrap("failed to append templated values").wrap(wrap))?;
                out.push(params);
            }
        }
    } else {
        return Err(Failure::new(
            "generator-error",
            pointer,
            "ApplicationSet is empty",
        ));
    }
    Ok(out)
}

/// The local mount for `url`: exact match first, then ignoring a trailing
/// `/` or `.git` on either side.
pub fn find_repo<'a>(env: &'a Environment, url: &str) -> Option<&'a RepoMount> {
    fn norm(u: &str) -> &str {
        let u = u.trim_end_matches('/');
        let u = u.strip_suffix(".git").unwrap_or(u);
        u.trim_end_matches('/')
    }
    env.repos
        .iter()
        .find(|r| r.url == url)
        .or_else(|| env.repos.iter().find(|r| norm(&r.url) == norm(url)))
}

/// The mappings a files-generator file holds: one mapping, or a list of them.
fn read_objects(tree: &Tree, file: &str) -> Result<Vec<Map<String, Value>>, String> {
    let text = tree.read(file)?;
    let docs = crate::yaml::parse_go_yaml(&text)
        .map_err(|e| format!("error converting YAML to JSON: {}", e.go_yaml_text()))?;
    objects_from_value(
        docs.into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or(Value::Null),
    )
}

fn objects_from_value(value: Value) -> Result<Vec<Map<String, Value>>, String> {
    match value {
        Value::Null => Ok(vec![Map::new()]),
        Value::Object(m) => Ok(vec![m]),
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m),
                Value::Null => Ok(Map::new()),
                _ => Err(
                    "error unmarshaling JSON: cannot unmarshal into map[string]interface {}"
                        .to_string(),
                ),
            })
            .collect(),
        _ => Err("error unmarshaling JSON: cannot unmarshal into []map[string]interface {}".into()),
    }
}

/// Go's `path.Dir`.
fn go_dir(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].to_string(),
        None => ".".into(),
    }
}

/// Go's `path.Base`.
fn go_base(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn directory_params(dir: &str, prefix: &str, go: bool) -> Params {
    let mut params = Map::new();
    if go {
        let mut path = Map::new();
        path.insert("path".into(), dir.into());
        path.insert("basename".into(), go_base(dir).into());
        path.insert(
            "basenameNormalized".into(),
            sanitize_name(&go_base(dir)).into(),
        );
        path.insert("segments".into(), dir.split('/').map(Value::from).collect());
        insert_go_path(&mut params, prefix, path);
    } else {
        let name = flat_path_name(prefix);
        params.insert(name.clone(), dir.into());
        params.insert(format!("{name}.basename"), go_base(dir).into());
        params.insert(
            format!("{name}.basenameNormalized"),
            sanitize_name(&go_base(dir)).into(),
        );
        insert_segments(&mut params, &name, dir);
    }
    params
}

fn file_params(file: &str, object: Map<String, Value>, prefix: &str, go: bool) -> Params {
    let dir = go_dir(file);
    let filename = go_base(file);
    let mut params = Map::new();
    if go {
        params.extend(object);
        let mut path = Map::new();
        path.insert("path".into(), dir.clone().into());
        path.insert("basename".into(), go_base(&dir).into());
        path.insert("filename".into(), filename.clone().into());
        path.insert(
            "basenameNormalized".into(),
            sanitize_name(&go_base(&dir)).into(),
        );
        path.insert("filenameNormalized".into(), sanitize_name(&filename).into());
        path.insert("segments".into(), dir.split('/').map(Value::from).collect());
        insert_go_path(&mut params, prefix, path);
    } else {
        let flat = super::flatten_params(&object);
        for (k, v) in flat {
            params.insert(k, Value::String(v));
        }
        let name = flat_path_name(prefix);
        params.insert(name.clone(), dir.clone().into());
        params.insert(format!("{name}.basename"), go_base(&dir).into());
        params.insert(format!("{name}.filename"), filename.clone().into());
        params.insert(
            format!("{name}.basenameNormalized"),
            sanitize_name(&go_base(&dir)).into(),
        );
        params.insert(
            format!("{name}.filenameNormalized"),
            sanitize_name(&filename).into(),
        );
        insert_segments(&mut params, &name, &dir);
    }
    params
}

fn flat_path_name(prefix: &str) -> String {
    if prefix.is_empty() {
        "path".into()
    } else {
        format!("{prefix}.path")
    }
}

fn insert_go_path(params: &mut Params, prefix: &str, path: Map<String, Value>) {
    if prefix.is_empty() {
        params.insert("path".into(), Value::Object(path));
    } else {
        let mut wrapper = Map::new();
        wrapper.insert("path".into(), Value::Object(path));
        params.insert(prefix.into(), Value::Object(wrapper));
    }
}

fn insert_segments(params: &mut Params, name: &str, dir: &str) {
    for (i, seg) in dir.split('/').enumerate() {
        if !seg.is_empty() {
            params.insert(format!("{name}[{i}]"), seg.into());
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Star,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Lit(char),
}

fn tokenize(pattern: &str) -> Result<Vec<Token>, ()> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::Any);
                i += 1;
            }
            '\\' => {
                let c = *chars.get(i + 1).ok_or(())?;
                tokens.push(Token::Lit(c));
                i += 2;
            }
            '[' => {
                i += 1;
                let negated = chars.get(i) == Some(&'^');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = *chars.get(i).ok_or(())?;
                    if c == ']' && !first {
                        i += 1;
                        break;
                    }
                    first = false;
                    let mut lo = c;
                    if lo == '\\' {
                        i += 1;
                        lo = *chars.get(i).ok_or(())?;
                    } else if lo == ']' || lo == '-' {
                        return Err(());
                    }
                    i += 1;
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') && chars.get(i + 1) != Some(&']') {
                        i += 1;
                        hi = *chars.get(i).ok_or(())?;
                        if hi == '\\' {
                            i += 1;
                            hi = *chars.get(i).ok_or(())?;
                        }
                        i += 1;
                        if hi < lo {
                            return Err(());
                        }
                    }
                    ranges.push((lo, hi));
                }
                tokens.push(Token::Class { negated, ranges });
            }
            c => {
                tokens.push(Token::Lit(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// Glob matching by dynamic programming (no backtracking blow-up).
fn glob(tokens: &[Token], name: &str, star_crosses_slash: bool) -> bool {
    let s: Vec<char> = name.chars().collect();
    let (n, m) = (tokens.len(), s.len());
    // dp[j] for the current token row: tokens[i..] matches s[j..]
    let mut next = vec![false; m + 1];
    next[m] = true;
    for i in (0..n).rev() {
        let mut cur = vec![false; m + 1];
        for j in (0..=m).rev() {
            cur[j] = match &tokens[i] {
                Token::Star => {
                    next[j] || (j < m && (star_crosses_slash || s[j] != '/') && cur[j + 1])
                }
                Token::Any => j < m && s[j] != '/' && next[j + 1],
                Token::Lit(c) => j < m && s[j] == *c && next[j + 1],
                Token::Class { negated, ranges } => {
                    j < m
                        && s[j] != '/'
                        && {
                            let inside = ranges.iter().any(|(lo, hi)| *lo <= s[j] && s[j] <= *hi);
                            inside != *negated
                        }
                        && next[j + 1]
                }
            };
        }
        next = cur;
    }
    next[0]
}

/// Go's `path.Match`; `None` for a malformed pattern (Argo CD logs it and
/// treats it as no match).
pub fn path_match(pattern: &str, name: &str) -> Option<bool> {
    let tokens = tokenize(pattern).ok()?;
    Some(glob(&tokens, name, false))
}

/// `git ls-files -- <pattern>`: wildcards cross `/`; a literal pattern
/// names a file or a directory prefix.
pub fn pathspec_match(pattern: &str, file: &str) -> bool {
    let pattern = pattern.trim_start_matches("./");
    if !pattern.contains(['*', '?', '[']) {
        let dir = pattern.trim_end_matches('/');
        return file == pattern || (!dir.is_empty() && file.starts_with(&format!("{dir}/")));
    }
    match tokenize(pattern) {
        Ok(tokens) => glob(&tokens, file, true),
        Err(()) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::template::Options;
    use serde_json::json;
    use std::fs;

    fn repo() -> (tempfile::TempDir, Environment) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let root = dir.path();
        for d in [
            "apps/api",
            "apps/web",
            "apps/web/sub",
            "apps/.hidden",
            "infra/db",
            ".git/objects",
        ] {
            fs::create_dir_all(root.join(d)).unwrap_or_else(|e| panic!("{e}"));
        }
        fs::write(
            root.join("apps/api/config.json"),
            "{\"env\": \"dev\", \"image\": {\"tag\": \"1.2\"}, \"replicas\": 2}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        fs::write(root.join("apps/web/config.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        let env = Environment {
            clusters: vec![],
            repos: vec![RepoMount {
                url: "https://github.com/org/repo.git".into(),
                path: root.to_path_buf(),
            }],
        };
        (dir, env)
    }

    fn run(env: &Environment, spec: Value, go: bool) -> Result<Vec<Params>, Failure> {
        let ctx = Ctx {
            env,
            opts: Options::new(go, &[]),
        };
        generate(&spec, "/spec/generators/0/git", &ctx)
    }

    #[test]
    fn git_directories_match_with_path_match_and_exclude() {
        let (_d, env) = repo();
        let ps = run(
            &env,
            json!({"repoURL": "https://github.com/org/repo", "directories": [{"path": "apps/*"}, {"path": "apps/web", "exclude": true}]}),
            false,
        )
        .unwrap();
        let paths: Vec<&str> = ps.iter().filter_map(|p| p["path"].as_str()).collect();
        assert_eq!(paths, vec!["apps/api"]);
        assert_eq!(ps[0]["path.basename"], "api");
        assert_eq!(ps[0]["path.basenameNormalized"], "api");
        assert_eq!(ps[0]["path[0]"], "apps");
        assert_eq!(ps[0]["path[1]"], "api");
    }

    #[test]
    fn git_directories_skip_hidden_and_walk_in_order() {
        let (_d, env) = repo();
        let ps = run(&env, json!({"repoURL": "https://github.com/org/repo/", "directories": [{"path": "*"}, {"path": "*/*"}, {"path": "*/*/*"}]}), false).unwrap();
        let paths: Vec<&str> = ps.iter().filter_map(|p| p["path"].as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "apps",
                "apps/api",
                "apps/web",
                "apps/web/sub",
                "infra",
                "infra/db"
            ]
        );
    }

    #[test]
    fn git_directories_go_template_shape_and_prefix() {
        let (_d, env) = repo();
        let ps = run(&env, json!({"repoURL": "https://github.com/org/repo.git", "directories": [{"path": "infra/*"}], "pathParamPrefix": "infra"}), true).unwrap();
        assert_eq!(ps[0]["infra"]["path"]["path"], "infra/db");
        assert_eq!(ps[0]["infra"]["path"]["segments"], json!(["infra", "db"]));
    }

    #[test]
    fn git_repo_without_mount_is_not_served() {
        let (_d, env) = repo();
        let e = run(
            &env,
            json!({"repoURL": "https://github.com/other/x", "directories": [{"path": "*"}]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.rule, "git-repo-not-served");
        assert_eq!(e.pointer, "/spec/generators/0/git/repoURL");
    }

    #[test]
    fn git_files_params_flatten_for_fasttemplate() {
        let p = file_params(
            "apps/api/config.json",
            json!({"image": {"tag": 1.5}, "list": ["a"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            "",
            false,
        );
        assert_eq!(p["image.tag"], "1.5");
        assert_eq!(p["list.0"], "a");
        assert_eq!(p["path"], "apps/api");
        assert_eq!(p["path.basename"], "api");
        assert_eq!(p["path.filename"], "config.json");
        assert_eq!(p["path.filenameNormalized"], "config.json");
        assert_eq!(p["path[1]"], "api");
    }

    #[test]
    fn git_files_params_nest_for_go_template_with_prefix() {
        let p = file_params(
            "config.json",
            json!({"a": 1}).as_object().cloned().unwrap_or_default(),
            "pre",
            true,
        );
        assert_eq!(p["a"], 1);
        assert_eq!(p["pre"]["path"]["path"], ".");
        assert_eq!(p["pre"]["path"]["filename"], "config.json");
        assert_eq!(p["pre"]["path"]["segments"], json!(["."]));
    }

    #[test]
    fn git_file_objects_accept_a_mapping_or_a_list() {
        assert_eq!(
            objects_from_value(json!([{"a": 1}, {"a": 2}]))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(objects_from_value(Value::Null).unwrap(), vec![Map::new()]);
        assert!(objects_from_value(json!("text")).is_err());
    }

    #[test]
    fn git_files_read_and_select_by_pathspec() {
        let (_d, env) = repo();
        let ps = run(&env, json!({"repoURL": "https://github.com/org/repo.git", "files": [{"path": "apps/*/config.json"}, {"path": "apps/web/*", "exclude": true}]}), false).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0]["env"], "dev");
        assert_eq!(ps[0]["image.tag"], "1.2");
    }

    /// A checkout with a second commit over the first (`v1`), and edits
    /// left in the working tree: a modified and an untracked config.
    fn checkout() -> (super::super::tree::testrepo::TestRepo, Environment) {
        let repo = super::super::tree::testrepo::TestRepo::new();
        repo.write("apps/api/config.json", r#"{"env": "v1"}"#);
        repo.commit("first");
        repo.git(&["tag", "v1"]);
        repo.write("apps/api/config.json", r#"{"env": "v2"}"#);
        repo.write("apps/web/config.json", r#"{"env": "v2"}"#);
        repo.commit("second");
        repo.write("apps/api/config.json", r#"{"env": "dirty"}"#);
        repo.write("apps/new/config.json", r#"{"env": "dirty"}"#);
        let env = Environment {
            clusters: vec![],
            repos: vec![RepoMount {
                url: "https://github.com/org/repo.git".into(),
                path: repo.path(),
            }],
        };
        (repo, env)
    }

    fn paths(ps: &[Params]) -> Vec<&str> {
        ps.iter().filter_map(|p| p["path"].as_str()).collect()
    }

    fn envs(ps: &[Params]) -> Vec<&str> {
        ps.iter().filter_map(|p| p["env"].as_str()).collect()
    }

    #[test]
    fn git_generators_in_a_checkout_read_the_commit_not_the_working_tree() {
        let (_repo, env) = checkout();
        for revision in [json!(null), json!(""), json!("HEAD"), json!("main")] {
            let dirs = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": revision, "directories": [{"path": "apps/*"}]}), false).unwrap();
            assert_eq!(paths(&dirs), ["apps/api", "apps/web"], "{revision}");
            let files = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": revision, "files": [{"path": "apps/*/config.json"}]}), false).unwrap();
            assert_eq!(envs(&files), ["v2", "v2"], "{revision}");
        }
    }

    #[test]
    fn git_generators_at_an_older_revision_read_the_older_tree() {
        let (repo, env) = checkout();
        let first = repo.git(&["rev-parse", "v1^{commit}"]).trim().to_string();
        for revision in ["v1", first.as_str(), &first[..7]] {
            let dirs = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": revision, "directories": [{"path": "apps/*"}]}), true).unwrap();
            assert_eq!(dirs.len(), 1, "{revision}");
            assert_eq!(dirs[0]["path"]["path"], "apps/api");
            let files = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": revision, "files": [{"path": "apps/*/config.json"}]}), false).unwrap();
            assert_eq!(envs(&files), ["v1"], "{revision}");
        }
    }

    #[test]
    fn git_revision_that_does_not_resolve_is_a_clear_error() {
        let (_repo, env) = checkout();
        for (key, wrapped) in [
            (
                "directories",
                "error generating params from git: error getting directories from repo: \
                 error retrieving Git Directories: unable to resolve 'v9' to a commit SHA",
            ),
            (
                "files",
                "error generating params from git: error retrieving Git files: \
                 unable to resolve 'v9' to a commit SHA",
            ),
        ] {
            let e = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": "v9", key: [{"path": "*"}]}), false).unwrap_err();
            assert_eq!(e.rule, "git-revision-not-found");
            assert_eq!(e.pointer, "/spec/generators/0/git/revision");
            assert!(e.message.starts_with(wrapped), "{}", e.message);
            assert!(
                e.message
                    .contains("repository `https://github.com/org/repo`"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn git_generators_outside_a_checkout_read_the_disk_whatever_the_revision() {
        let (_d, env) = repo();
        let ps = run(&env, json!({"repoURL": "https://github.com/org/repo", "revision": "v1", "directories": [{"path": "apps/*"}]}), false).unwrap();
        assert_eq!(paths(&ps), ["apps/api", "apps/web"]);
    }

    #[test]
    fn go_path_match_semantics() {
        assert_eq!(path_match("apps/*", "apps/api"), Some(true));
        assert_eq!(path_match("apps/*", "apps/web/sub"), Some(false));
        assert_eq!(path_match("a?c", "abc"), Some(true));
        assert_eq!(path_match("[a-c]x", "bx"), Some(true));
        assert_eq!(path_match("[^a-c]x", "bx"), Some(false));
        assert_eq!(path_match("[", "x"), None);
        assert_eq!(path_match("\\*", "*"), Some(true));
    }

    #[test]
    fn git_pathspec_semantics() {
        assert!(pathspec_match("apps/*/config.json", "apps/a/b/config.json"));
        assert!(pathspec_match("apps", "apps/a/config.json"));
        assert!(pathspec_match("**/config.json", "x/config.json"));
        assert!(!pathspec_match("apps/*.json", "other/a.json"));
    }

    #[test]
    fn go_dir_and_base() {
        assert_eq!(go_dir("a/b/c.json"), "a/b");
        assert_eq!(go_dir("c.json"), ".");
        assert_eq!(go_base("a/b"), "b");
        assert_eq!(go_base("."), ".");
    }
}

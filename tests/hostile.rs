//! The hostile-input corpus: inputs built to hang, exhaust memory, pass
//! wrongly or garble the terminal, each run through the real binary with its
//! exit code, a clear message, and time and peak memory bounded.
//!
//! Inputs are generated here (some are large, some are FIFOs or symlinks to
//! devices, which git cannot hold). `cargo test --test hostile -- --nocapture`
//! prints the worst time and peak memory seen.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Bounds every case must stay under.
const TIME_LIMIT: Duration = Duration::from_secs(10);
const MEMORY_LIMIT_KB: i64 = 512 * 1024;
/// A case still running after this is killed (and fails as a hang).
const KILL_AFTER: Duration = Duration::from_secs(30);

const APPSET_HEAD: &str =
    "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: demo\n";

/// A small valid ApplicationSet whose list element and template name are given.
fn appset(element: &str, name: &str) -> String {
    format!(
        "{APPSET_HEAD}spec:\n  generators:\n    - list:\n        elements:\n          - {element}\n  template:\n    metadata:\n      name: {name}\n    spec:\n      project: default\n      source: {{repoURL: 'https://github.com/o/r', path: p, targetRevision: v1}}\n      destination: {{server: 'https://kubernetes.default.svc', namespace: demo}}\n"
    )
}

fn go_appset(element: &str, name: &str) -> String {
    appset(element, name).replace(
        "spec:\n  generators:",
        "spec:\n  goTemplate: true\n  generators:",
    )
}

fn alias_bomb(levels: usize) -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..levels {
        let items = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    text
}

fn scenario(extra_cluster: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: gitops-e2e/v1alpha1\nkind: Scenario\nmetadata:\n  name: hostile\nspec:\n  provider: kwok\n  clusters:\n    - name: dev\n{extra_cluster}  applicationSet: appset.yaml\n{extra_spec}"
    )
}

/// What a case's input is.
enum Input {
    Text(String),
    Bytes(Vec<u8>),
    Fifo,
    Symlink(&'static str),
    Dir,
    Missing,
}

struct Case {
    name: &'static str,
    /// The file `plan` is given; the others in `extra` go next to it.
    file: Input,
    extra: Vec<(&'static str, Input)>,
    args: Vec<&'static str>,
    code: i32,
    /// Must appear in stdout or stderr.
    says: &'static str,
}

fn case(name: &'static str, file: Input, code: i32, says: &'static str) -> Case {
    Case {
        name,
        file,
        extra: Vec::new(),
        args: Vec::new(),
        code,
        says,
    }
}

fn with_appset(mut c: Case, appset: Input) -> Case {
    c.extra.push(("appset.yaml", appset));
    c
}

fn ok_appset() -> Input {
    Input::Text(appset("env: dev", "'demo-{{env}}'"))
}

fn cases() -> Vec<Case> {
    use Input::*;
    let big_list = format!("{APPSET_HEAD}spec: [{}]\n", vec!["1"; 600_000].join(","));
    let deep_seq = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let deep_map = format!("{}1{}", "{a: ".repeat(300), "}".repeat(300));
    let long_name = format!("'{}'", "a".repeat(300));
    let xs3000 = format!(
        "xs: [{}]",
        (0..3000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut big = String::from(APPSET_HEAD);
    while big.len() < (9 << 20) {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let elements100 = |k: &str| {
        (0..100)
            .map(|i| format!("{{{k}: v{i}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let matrix3 = format!(
        "{APPSET_HEAD}spec:\n  generators:\n    - matrix:\n        generators:\n          - list: {{elements: [{}]}}\n          - matrix:\n              generators:\n                - list: {{elements: [{}]}}\n                - list: {{elements: [{}]}}\n  template:\n    metadata: {{name: 'x-{{{{a}}}}-{{{{b}}}}-{{{{c}}}}'}}\n    spec: {{project: default, destination: {{server: 'https://kubernetes.default.svc', namespace: x}}}}\n",
        elements100("a"),
        elements100("b"),
        elements100("c")
    );
    let matrix_small = format!(
        "{APPSET_HEAD}spec:\n  generators:\n    - matrix:\n        generators:\n          - list: {{elements: [{}]}}\n          - list: {{elements: [{}]}}\n  template:\n    metadata: {{name: 'x-{{{{a}}}}-{{{{b}}}}'}}\n    spec: {{project: default, destination: {{server: 'https://kubernetes.default.svc', namespace: x}}}}\n",
        (0..10)
            .map(|i| format!("{{a: v{i}}}"))
            .collect::<Vec<_>>()
            .join(", "),
        (0..10)
            .map(|i| format!("{{b: v{i}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let many_docs = (0..2000)
        .map(|_| appset("env: dev", "'demo-{{env}}'"))
        .collect::<Vec<_>>()
        .join("---\n");
    let mut m = vec![
        // Reading: what the file is.
        case("fifo-appset", Fifo, 2, "FIFO, not a regular file"),
        case(
            "dev-zero-appset",
            Symlink("/dev/zero"),
            2,
            "character device",
        ),
        case(
            "dev-null-appset",
            Symlink("/dev/null"),
            2,
            "character device",
        ),
        case("directory-appset", Dir, 2, "directory"),
        case("missing-file", Missing, 2, "No such file"),
        case(
            "dangling-symlink",
            Symlink("/nonexistent/appset.yaml"),
            2,
            "No such file",
        ),
        case(
            "nine-mib-file",
            Text(big),
            2,
            "larger than the 8 MiB input limit",
        ),
        case(
            "invalid-utf8",
            Bytes(b"apiVersion: v1\nkind: caf\xe9\n".to_vec()),
            2,
            "line 2",
        ),
        case(
            "nul-bytes",
            Bytes(b"apiVersion: v1\n\0\0\0kind: X\n".to_vec()),
            2,
            "error",
        ),
        case(
            "random-binary",
            Bytes(
                (0..4096u32)
                    .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
                    .collect(),
            ),
            2,
            "error",
        ),
        case("empty-file", Text(String::new()), 2, "no YAML document"),
        case(
            "only-comments",
            Text("# nothing\n".into()),
            2,
            "no YAML document",
        ),
        // YAML that explodes or nests.
        case(
            "alias-bomb-10",
            Text(format!("{APPSET_HEAD}{}", alias_bomb(10))),
            2,
            "aliases expand to more than",
        ),
        case(
            "alias-bomb-30",
            Text(format!("{APPSET_HEAD}{}", alias_bomb(30))),
            2,
            "aliases expand to more than",
        ),
        // Found by fuzzing: nested complex keys whose text grew as 2^depth.
        case(
            "nested-complex-keys",
            Text(format!("{APPSET_HEAD}{}\n", "? ".repeat(26))),
            2,
            "a mapping key must be a scalar",
        ),
        case(
            "flow-list-600k",
            Text(big_list),
            2,
            "more than 500000 nodes",
        ),
        case(
            "deep-sequence",
            Text(deep_seq),
            2,
            "input.yaml:1:256: recursion limit",
        ),
        case(
            "deep-mapping",
            Text(deep_map),
            2,
            "input.yaml:1:1021: recursion limit",
        ),
        case(
            "duplicate-key",
            Text(format!("{APPSET_HEAD}metadata: {{}}\n")),
            2,
            "duplicate key",
        ),
        case(
            "unterminated-quote",
            Text("kind: 'ApplicationSet\n".into()),
            2,
            "input.yaml:1:7: while scanning a quoted scalar",
        ),
        case(
            "tab-indentation",
            Text("kind: ApplicationSet\nspec:\n\tgenerators: []\n".into()),
            2,
            "input.yaml:3:2: tabs disallowed",
        ),
        case(
            "merge-of-scalar",
            Text(format!("{APPSET_HEAD}spec:\n  <<: 5\n")),
            2,
            "merge key",
        ),
        // Documents of the wrong kind or shape.
        case("null-document", Text("null\n".into()), 2, "error"),
        case("number-document", Text("42\n".into()), 2, "error"),
        case("kind-is-a-list", Text("kind: [x]\n".into()), 2, "error"),
        case("list-document", Text("- a\n- b\n".into()), 2, "error"),
        case(
            "unknown-kind",
            Text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n".into()),
            2,
            "neither a Scenario nor an ApplicationSet",
        ),
        case(
            "two-appsets",
            Text(format!(
                "{}---\n{}",
                appset("env: a", "'a-{{env}}'"),
                appset("env: b", "'b-{{env}}'")
            )),
            2,
            "error",
        ),
        // Expansion limits.
        case("matrix-100-cubed", Text(matrix3), 2, "--max-applications"),
        Case {
            args: vec!["--max-applications", "50"],
            ..case(
                "matrix-over-a-lowered-limit",
                Text(matrix_small.clone()),
                2,
                "more than 50",
            )
        },
        case(
            "matrix-100-under-the-limit",
            Text(matrix_small),
            0,
            "Applications (100)",
        ),
        // Render limits per Application: 5 x 400 kB of one parameter.
        case(
            "application-over-the-size-limit",
            Text(appset(
                &format!("env: dev\n            blob: {}", "x".repeat(400_000)),
                "'demo-{{env}}'\n      annotations: {a: '{{blob}}{{blob}}{{blob}}{{blob}}{{blob}}'}",
            )),
            2,
            "--max-application-size",
        ),
        Case {
            args: vec!["--max-application-size", "3000000"],
            ..case(
                "application-size-under-a-raised-limit",
                Text(appset(
                    &format!("env: dev\n            blob: {}", "x".repeat(400_000)),
                    "'demo-{{env}}'\n      annotations: {a: '{{blob}}{{blob}}{{blob}}{{blob}}{{blob}}'}",
                )),
                0,
                "passed",
            )
        },
        Case {
            args: vec!["--max-render-time", "1ns"],
            ..case(
                "render-over-a-lowered-time-limit",
                Text(go_appset("env: dev", "'{{ .env | upper | sha256sum }}'")),
                2,
                "--max-render-time",
            )
        },
        // Names the API server refuses: error findings, never a pass.
        case(
            "name-uppercase",
            Text(appset("env: Dev", "'demo-{{env}}'")),
            1,
            "invalid-application-name",
        ),
        case(
            "name-empty",
            Text(appset("env: ''", "'{{env}}'")),
            1,
            "invalid-application-name",
        ),
        case(
            "name-with-space",
            Text(appset("env: 'a b'", "'demo-{{env}}'")),
            1,
            "invalid-application-name",
        ),
        case(
            "name-too-long",
            Text(appset("env: dev", &long_name)),
            1,
            "253",
        ),
        case(
            "name-with-ansi-escape",
            Text(appset("env: \"dev\\e[2J\"", "'demo-{{env}}'")),
            1,
            "\\u{1b}[2J",
        ),
        case(
            "name-with-rtl-override",
            Text(appset("env: \"dev\\u202e\"", "'demo-{{env}}'")),
            1,
            "\\u{202e}",
        ),
        case(
            "name-with-emoji",
            Text(appset("env: \"dev\u{1f600}\"", "'demo-{{env}}'")),
            1,
            "invalid-application-name",
        ),
        case(
            "name-with-nul",
            Text(appset("env: \"dev\\0\"", "'demo-{{env}}'")),
            1,
            "\\u{0}",
        ),
        // Templates.
        case(
            "go-invalid-escape",
            Text(go_appset("env: dev", "'{{ \"\\u\" }}'")),
            1,
            "invalid syntax",
        ),
        case(
            "go-unclosed-action",
            Text(go_appset("env: dev", "'{{ .env'")),
            1,
            "error",
        ),
        // 3000³ iterations: stopped by the render budget, refused as input.
        case(
            "go-nested-range-runaway",
            Text(go_appset(
                &xs3000,
                "'{{ range .xs }}{{ range $.xs }}{{ range $.xs }}ab{{ end }}{{ end }}{{ end }}'",
            )),
            2,
            "the template's output passed 1048576 bytes (the render limit per field)",
        ),
        case(
            "go-unknown-function",
            Text(go_appset("env: dev", "'{{ nosuchfn .env }}'")),
            1,
            "nosuchfn",
        ),
        case(
            "go-missing-key-default",
            Text(go_appset("env: dev", "'demo-{{ .nope }}'")),
            1,
            "error",
        ),
        case(
            "fasttemplate-unclosed",
            Text(appset("env: dev", "'demo-{{env'")),
            1,
            "error",
        ),
        case("many-documents", Text(many_docs), 2, "error"),
        // Shapes the API server refuses: error findings, never a pass.
        case(
            "generators-as-a-mapping",
            Text(appset("env: dev", "'demo-{{env}}'").replace(
                "  generators:\n    - list:\n        elements:\n          - env: dev\n",
                "  generators:\n    list:\n      elements: [{env: dev}]\n",
            )),
            1,
            "`spec.generators` is a mapping",
        ),
        case(
            "template-a-number",
            Text(format!(
                "{APPSET_HEAD}spec:\n  generators:\n    - list:\n        elements: [{{env: dev}}]\n  template: 12\n"
            )),
            1,
            "`spec.template` is a number",
        ),
        case(
            "template-patch-name-null",
            Text(
                go_appset("env: dev", "'demo-{{ .env }}'")
                    + "  templatePatch: |\n    metadata:\n      name: null\n",
            ),
            1,
            "invalid-application-name",
        ),
        case(
            "template-patch-spec-a-number",
            Text(go_appset("env: dev", "'demo-{{ .env }}'") + "  templatePatch: |\n    spec: 5\n"),
            1,
            "cannot unmarshal number into Go struct field Application.spec of type v1alpha1.ApplicationSpec",
        ),
        // Literals Go's template parser refuses.
        case(
            "go-number-1e",
            Text(go_appset("env: dev", "'d-{{ 1e }}'")),
            1,
            "illegal number syntax: \"1e\"",
        ),
        case(
            "go-number-0x",
            Text(go_appset("env: dev", "'d-{{ 0x }}'")),
            1,
            "illegal number syntax: \"0x\"",
        ),
        case(
            "go-number-08",
            Text(go_appset("env: dev", "'d-{{ 08 }}'")),
            1,
            "integer overflow: \"08\"",
        ),
        case(
            "go-escape-q",
            Text(go_appset("env: dev", "'{{ \"\\q\" }}'")),
            1,
            "invalid syntax",
        ),
        // Found by `make fuzz`: the template crate's lexer panicked on names
        // that are not ASCII.
        case(
            "go-unicode-function",
            Text(go_appset("env: dev", "'d-{{ϊ}}'")),
            1,
            "function \"ϊ\" not defined",
        ),
        // Go reads Unicode field names: a missing one renders `<no value>`.
        case(
            "go-unicode-field",
            Text(go_appset("env: dev", "'d-{{ .ϊ }}'")),
            1,
            "d-<no value>",
        ),
        case(
            "go-unicode-symbol",
            Text(go_appset("env: dev", "'d-{{ € }}'")),
            1,
            "unrecognized character in action: U+20AC",
        ),
        // Valid inputs the readers must accept.
        case(
            "merge-keys-accepted",
            Text(format!(
                "{APPSET_HEAD}x-base: &base\n  project: default\n  source: {{repoURL: 'https://github.com/o/r', path: p, targetRevision: v1}}\n  destination: {{server: 'https://kubernetes.default.svc', namespace: demo}}\nspec:\n  generators:\n    - list:\n        elements:\n          - env: dev\n  template:\n    metadata:\n      name: 'demo-{{{{env}}}}'\n    spec:\n      <<: *base\n"
            )),
            1,
            "unknown-field",
        ),
        case(
            "utf8-bom-accepted",
            Text(format!("\u{feff}{}", appset("env: dev", "'demo-{{env}}'"))),
            0,
            "demo-dev",
        ),
    ];
    // Scenarios: the names, paths and files they point at.
    let s = |name, text: String, code, says| {
        with_appset(case(name, Input::Text(text), code, says), ok_appset())
    };
    m.extend([
        s(
            "scenario-alias-bomb",
            format!("{}{}", scenario("", ""), alias_bomb(12)),
            2,
            "aliases expand",
        ),
        s(
            "scenario-name-absolute",
            scenario("", "").replace("name: hostile", "name: /tmp/x"),
            2,
            "DNS-1123",
        ),
        s(
            "scenario-name-parent",
            scenario("", "").replace("name: hostile", "name: ../.."),
            2,
            "DNS-1123",
        ),
        s(
            "scenario-name-uppercase",
            scenario("", "").replace("name: hostile", "name: Hostile"),
            2,
            "DNS-1123",
        ),
        s(
            "cluster-name-ansi",
            scenario("    - name: \"p\\e[2J\"\n", ""),
            2,
            "\\u{1b}",
        ),
        s(
            "cluster-server-http",
            scenario(
                "    - name: prod\n      server: http://prod.example.com\n",
                "",
            ),
            2,
            "not an https URL",
        ),
        s(
            "timeout-negative",
            scenario("", "  timeouts: {sync: -5s}\n"),
            2,
            "sync",
        ),
        s(
            "timeout-words",
            scenario("", "  timeouts: {sync: forever}\n"),
            2,
            "sync",
        ),
        s(
            "unknown-field",
            scenario("", "  clusterz: []\n"),
            2,
            "clusters",
        ),
        s(
            "findings-misspelled-rule",
            scenario("", "  expect:\n    findings: [matrix-cross-prodcut]\n"),
            2,
            "matrix-cross-product",
        ),
    ]);
    m.extend([
        with_appset(
            Case {
                extra: vec![("fixture.yaml", Fifo)],
                ..case(
                    "fixture-fifo",
                    Input::Text(scenario("", "  fixtures:\n    dev: [fixture.yaml]\n")),
                    2,
                    "FIFO",
                )
            },
            ok_appset(),
        ),
        with_appset(
            Case {
                extra: vec![("fixture.yaml", Symlink("/etc/passwd"))],
                ..case(
                    "fixture-etc-passwd",
                    Input::Text(scenario("", "  fixtures:\n    dev: [fixture.yaml]\n")),
                    2,
                    "fixture",
                )
            },
            ok_appset(),
        ),
        with_appset(
            Case {
                extra: vec![("kind.yaml", Symlink("/dev/zero"))],
                ..case(
                    "kind-config-dev-zero",
                    Input::Text(scenario("      kindConfig: kind.yaml\n", "")),
                    2,
                    "character device",
                )
            },
            ok_appset(),
        ),
        with_appset(
            Case {
                extra: vec![("kind.yaml", Fifo)],
                ..case(
                    "kind-config-fifo",
                    Input::Text(scenario("", "").replace(
                        "    - name: dev\n",
                        "    - name: dev\n      kindConfig: kind.yaml\n",
                    )),
                    2,
                    "FIFO",
                )
            },
            ok_appset(),
        ),
        case(
            "scenario-appset-fifo",
            Input::Text(scenario("", "")),
            2,
            "FIFO",
        ),
        case(
            "scenario-appset-dev-zero",
            Input::Text(scenario("", "")),
            2,
            "character device",
        ),
    ]);
    let n = m.len();
    m[n - 2].extra.push(("appset.yaml", Input::Fifo));
    m[n - 1]
        .extra
        .push(("appset.yaml", Input::Symlink("/dev/zero")));
    m
}

fn materialize(dir: &Path, name: &str, input: &Input) -> PathBuf {
    let path = dir.join(name);
    match input {
        Input::Text(t) => std::fs::write(&path, t).unwrap(),
        Input::Bytes(b) => std::fs::write(&path, b).unwrap(),
        Input::Fifo => {
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        Input::Symlink(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
        Input::Dir => std::fs::create_dir(&path).unwrap(),
        Input::Missing => {}
    }
    path
}

struct Ran {
    code: i32,
    output: String,
    elapsed: Duration,
    peak_kb: i64,
}

/// Runs the binary and reaps it with `wait4`, which gives this child's own
/// peak resident memory; kills it after [`KILL_AFTER`].
fn run(args: &[&str], file: &Path) -> Ran {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .arg("plan")
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            while started.elapsed() < KILL_AFTER {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // SAFETY: the child is not reaped until `done` is set.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })
    };
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    let elapsed = started.elapsed();
    watchdog.join().unwrap();
    assert_eq!(reaped, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap()).into_owned();
    std::mem::forget(child); // reaped above
    Ran {
        code,
        output: format!("{stdout}{stderr}"),
        elapsed,
        peak_kb: usage.ru_maxrss,
    }
}

#[test]
fn every_hostile_input_is_refused_quickly_clearly_and_within_memory() {
    let cases = cases();
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());
    let mut problems = Vec::new();
    let (mut worst_time, mut worst_mem) = ((Duration::ZERO, ""), (0, ""));
    for c in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, input) in &c.extra {
            materialize(dir.path(), name, input);
        }
        let file = materialize(dir.path(), "input.yaml", &c.file);
        let ran = run(&c.args, &file);
        if ran.elapsed > worst_time.0 {
            worst_time = (ran.elapsed, c.name);
        }
        if ran.peak_kb > worst_mem.0 {
            worst_mem = (ran.peak_kb, c.name);
        }
        let mut why = Vec::new();
        if ran.code != c.code {
            why.push(format!("exit {} (want {})", ran.code, c.code));
        }
        if !ran.output.contains(c.says) {
            why.push(format!("output lacks {:?}", c.says));
        }
        if ran.output.contains('\u{1b}') || ran.output.contains('\u{202e}') {
            why.push("raw control characters reached the terminal".into());
        }
        for leak in ["panicked", "RUST_BACKTRACE", "Number(", "String(\""] {
            if ran.output.contains(leak) {
                why.push(format!("output shows {leak:?}"));
            }
        }
        if ran.elapsed > TIME_LIMIT {
            why.push(format!("took {:.1?}", ran.elapsed));
        }
        if ran.peak_kb > MEMORY_LIMIT_KB {
            why.push(format!("peak memory {} MiB", ran.peak_kb / 1024));
        }
        if !why.is_empty() {
            let head: String = ran.output.chars().take(600).collect();
            problems.push(format!("{}: {}\n{head}", c.name, why.join("; ")));
        }
    }
    println!(
        "{} hostile inputs; worst time {:.2?} ({}), worst peak memory {} MiB ({})",
        cases.len(),
        worst_time.0,
        worst_time.1,
        worst_mem.0 / 1024,
        worst_mem.1
    );
    assert!(
        problems.is_empty(),
        "{} of {} cases:\n\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

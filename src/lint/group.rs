//! One mistake, many findings: a template line that is wrong is wrong in
//! every Application the ApplicationSet generates from it. The linter reports
//! it once per Application (the JSON keeps them all); people read it once,
//! with the Applications it affects.
//!
//! Findings are the same mistake when they have the same rule, severity,
//! place (file, line and column) and advice: one place to change, one way to
//! change it. The message is not part of the key: it names the Application
//! and the values rendered into it, which differ between Applications of one
//! mistake. Where the messages differ beyond the Application's name, the
//! group keeps each distinct message (a [`Variant`]).

use sha2::{Digest, Sha256};

use super::{Finding, Location, Severity};

/// How many Application names a one-line label shows before the count.
pub const NAMES_SHOWN: usize = 3;

/// The stable id of the mistake a finding belongs to: the first 16 hex
/// digits of the SHA-256 of its grouping key. The same input gives the same
/// id on every run and machine (paths as given on the command line, less
/// their `.` components).
pub fn group_id(
    rule: &str,
    severity: Severity,
    location: Option<&Location>,
    advice: &str,
) -> String {
    // `./a.yaml` and `a.yaml` are one file: `.` components do not count.
    let location = location
        .map(|l| {
            let file: std::path::PathBuf = std::path::Path::new(&l.file)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            Location {
                file: file.display().to_string(),
                pos: l.pos,
            }
            .to_string()
        })
        .unwrap_or_default();
    // A JSON array keeps the fields apart whatever characters they hold.
    let key = serde_json::json!([rule, severity.to_string(), location, advice]).to_string();
    Sha256::digest(key.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The findings of one mistake, in the order they were reported.
#[derive(Debug)]
pub struct FindingGroup<'a> {
    pub members: Vec<&'a Finding>,
}

/// One distinct message of a group and the Applications it was said of.
#[derive(Debug, PartialEq, Eq)]
pub struct Variant<'a> {
    /// The message as people read it under the group's Application list:
    /// without its leading "Application `NAME`: " when the group has
    /// several Applications.
    pub message: String,
    pub applications: Vec<&'a str>,
}

impl<'a> FindingGroup<'a> {
    fn first(&self) -> &'a Finding {
        self.members[0]
    }

    pub fn id(&self) -> &'a str {
        &self.first().group
    }

    pub fn rule(&self) -> &'a str {
        &self.first().rule
    }

    pub fn severity(&self) -> Severity {
        self.first().severity
    }

    pub fn location(&self) -> Option<&'a Location> {
        self.first().location.as_ref()
    }

    pub fn advice(&self) -> &'a str {
        &self.first().advice
    }

    /// The Applications the mistake shows in, each once, in report order.
    pub fn applications(&self) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for a in self.members.iter().filter_map(|f| f.application.as_deref()) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// The distinct messages, each with the Applications it was said of.
    pub fn variants(&self) -> Vec<Variant<'a>> {
        let several = self.applications().len() > 1;
        let mut out: Vec<(String, Variant<'a>)> = Vec::new();
        for f in &self.members {
            let key = anonymous(f);
            let app = f.application.as_deref();
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => {
                    if let Some(a) = app.filter(|a| !v.applications.contains(a)) {
                        v.applications.push(a);
                    }
                }
                None => out.push((
                    key,
                    Variant {
                        message: if several {
                            without_application(f).to_string()
                        } else {
                            f.message.clone()
                        },
                        applications: app.into_iter().collect(),
                    },
                )),
            }
        }
        out.into_iter().map(|(_, v)| v).collect()
    }
}

/// A group's variants as one text: the message when there is one, else a
/// line per variant, `[its Applications]: message`.
pub fn variants_text(variants: &[Variant<'_>]) -> String {
    match variants {
        [one] => one.message.clone(),
        several => several
            .iter()
            .map(|v| {
                format!(
                    "[{}]: {}",
                    applications_label(&v.applications, NAMES_SHOWN),
                    v.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Groups findings by mistake; groups come in the order of their first
/// finding, and each finding is in exactly one group.
pub fn group(findings: &[Finding]) -> Vec<FindingGroup<'_>> {
    let mut groups: Vec<FindingGroup<'_>> = Vec::new();
    let mut index: std::collections::HashMap<Key<'_>, usize> = std::collections::HashMap::new();
    for f in findings {
        let key = key(f);
        match index.get(&key) {
            Some(&i) => groups[i].members.push(f),
            None => {
                index.insert(key, groups.len());
                groups.push(FindingGroup { members: vec![f] });
            }
        }
    }
    groups
}

type Key<'a> = (&'a str, Severity, Option<&'a Location>, &'a str);

fn key(f: &Finding) -> Key<'_> {
    (&f.rule, f.severity, f.location.as_ref(), &f.advice)
}

/// The message with its Application's name blanked, to tell whether two
/// Applications were told the same thing.
fn anonymous(f: &Finding) -> String {
    match &f.application {
        Some(a) => f.message.replace(&format!("`{a}`"), "`\u{0}`"),
        None => f.message.clone(),
    }
}

/// The message without a leading "Application `NAME`: ".
fn without_application(f: &Finding) -> &str {
    f.application
        .as_deref()
        .and_then(|a| f.message.strip_prefix(&format!("Application `{a}`: ")))
        .unwrap_or(&f.message)
}

/// `a, b, c, … 6 Applications`: up to `shown` names, then the count.
pub fn applications_label(apps: &[&str], shown: usize) -> String {
    if apps.len() <= shown {
        return apps.join(", ");
    }
    format!(
        "{}, … {} Applications",
        apps[..shown].join(", "),
        apps.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;

    fn finding(rule: &str, app: Option<&str>, line: usize, message: &str) -> Finding {
        let location = Some(Location {
            file: "appset.yaml".into(),
            pos: Some(Pos { line, column: 9 }),
        });
        let advice = "do it right".to_string();
        Finding {
            group: group_id(rule, Severity::Error, location.as_ref(), &advice),
            rule: rule.into(),
            severity: Severity::Error,
            message: message.into(),
            application: app.map(str::to_string),
            location,
            advice,
        }
    }

    #[test]
    fn one_mistake_in_two_applications_is_one_group() {
        let f = [
            finding("r", Some("a-dev"), 4, "Application `a-dev`: bad"),
            finding("r", Some("a-prod"), 4, "Application `a-prod`: bad"),
        ];
        let g = group(&f);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].applications(), ["a-dev", "a-prod"]);
        assert_eq!(f[0].group, f[1].group);
        assert_eq!(
            g[0].variants(),
            [Variant {
                message: "bad".into(),
                applications: vec!["a-dev", "a-prod"]
            }]
        );
    }

    #[test]
    fn different_places_rules_or_advice_are_different_mistakes() {
        let mut other_advice = finding("r", Some("b"), 4, "x");
        other_advice.advice = "do something else".into();
        other_advice.group = group_id(
            "r",
            Severity::Error,
            other_advice.location.as_ref(),
            "do something else",
        );
        let f = [
            finding("r", Some("a"), 4, "x"),
            finding("r", Some("b"), 5, "x"),
            finding("s", Some("a"), 4, "x"),
            other_advice,
        ];
        let g = group(&f);
        assert_eq!(g.len(), 4);
        let ids: std::collections::BTreeSet<&str> = f.iter().map(|f| f.group.as_str()).collect();
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn messages_that_differ_beyond_the_name_stay_apart_in_the_group() {
        let f = [
            finding(
                "r",
                Some("a-dev"),
                4,
                "Application `a-dev`: server dev.example",
            ),
            finding(
                "r",
                Some("b-dev"),
                4,
                "Application `b-dev`: server dev.example",
            ),
            finding(
                "r",
                Some("a-prod"),
                4,
                "Application `a-prod`: server prod.example",
            ),
        ];
        let g = group(&f);
        assert_eq!(g.len(), 1);
        let v = g[0].variants();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].message, "server dev.example");
        assert_eq!(v[0].applications, ["a-dev", "b-dev"]);
        assert_eq!(v[1].applications, ["a-prod"]);
    }

    #[test]
    fn a_single_application_keeps_its_whole_message() {
        let f = [finding("r", Some("a"), 4, "Application `a`: bad")];
        assert_eq!(group(&f)[0].variants()[0].message, "Application `a`: bad");
    }

    #[test]
    fn the_id_is_stable_and_short() {
        let loc = Location {
            file: "scenarios/x.yaml".into(),
            pos: Some(Pos { line: 3, column: 7 }),
        };
        let id = group_id("unknown-field", Severity::Error, Some(&loc), "fix");
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        // Pinned: the id must not change between releases or machines
        // (SHA-256 of `["unknown-field","error","scenarios/x.yaml:3:7","fix"]`).
        assert_eq!(id, "2465a5e11b96bbae");
        assert_ne!(
            id,
            group_id("unknown-field", Severity::Warning, Some(&loc), "fix")
        );
        let dotted = Location {
            file: "./scenarios/./x.yaml".into(),
            pos: loc.pos,
        };
        assert_eq!(
            id,
            group_id("unknown-field", Severity::Error, Some(&dotted), "fix")
        );
    }

    #[test]
    fn labels_show_three_names_then_the_count() {
        assert_eq!(applications_label(&["a", "b"], 3), "a, b");
        assert_eq!(
            applications_label(&["a", "b", "c", "d", "e", "f"], 3),
            "a, b, c, … 6 Applications"
        );
    }
}

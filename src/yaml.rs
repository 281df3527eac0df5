//! The one place that reads and writes YAML.
//!
//! Reading goes through an event parser that keeps the position of every node,
//! so that any later error (a type mismatch, an unknown field, a lint finding)
//! can name `file:line:column`. Values are JSON-shaped (`serde_json::Value`):
//! everything Kubernetes accepts is. Writing goes through `serde_yaml`.
//!
//! Swapping the YAML library means changing this file only.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

/// A 1-based line and column in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// One YAML document with the position of each of its nodes.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub value: Value,
    /// JSON pointer (RFC 6901) of every node → where its value starts.
    pub values: BTreeMap<String, Pos>,
    /// JSON pointer of every mapping entry → where its key starts.
    pub keys: BTreeMap<String, Pos>,
    /// Places where the text was not valid as written and was read as what was
    /// evidently meant (like a compiler recovering to report the next error).
    pub recoveries: Vec<Recovery>,
}

/// A place where the reader repaired the text to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub pointer: String,
    pub pos: Pos,
    /// The text as written, e.g. `{{replicas}}`.
    pub text: String,
    pub kind: RecoveryKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryKind {
    /// A plain scalar starting with `{{`: YAML reads it as a flow mapping (or
    /// rejects it); it was meant as a string holding a template.
    UnquotedTemplate,
}

/// The text is not YAML, even after recovery.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// A document did not have the shape a typed model expects.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// JSON pointer of the offending node.
    pub pointer: String,
    pub pos: Option<Pos>,
    pub message: String,
    /// A near valid name, for unknown fields and variants.
    pub suggestion: Option<String>,
}

impl Document {
    /// Where the node at `pointer` is written: its key if it is a mapping
    /// entry, else its value, else the nearest ancestor that has a position.
    pub fn pos(&self, pointer: &str) -> Option<Pos> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.keys.get(p).or_else(|| self.values.get(p)) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = p.rfind('/').map_or("", |i| &p[..i]);
        }
    }
}

/// Parses every document of a YAML stream.
///
/// Unquoted templates (`key: {{x}}`, a line that is only `{{#if …}}`) are
/// recovered: read as the string that was meant, and recorded in
/// [`Document::recoveries`].
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    parse_as(text, Schema::Core)
}

/// How plain scalars (and keys) are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2's core schema, as Kubernetes' own YAML and this tool read
    /// manifests.
    Core,
    /// YAML 1.1 as go-yaml v2 resolves it and `sigs.k8s.io/yaml` turns it
    /// into JSON: what Argo CD reads git files, `elementsYaml`,
    /// `templatePatch` and `fromYaml` with. `yes`/`no`/`on`/`off`/`y`/`n`
    /// are booleans, `0755` is octal, `1_000` is 1000, and non-string keys
    /// become their text (`on:` is the key `true`).
    GoYaml11,
}

/// [`parse`] with YAML 1.1 resolution, as Argo CD reads the YAML it is given
/// inside an ApplicationSet or a repository ([`Schema::GoYaml11`]).
pub fn parse_go_yaml(text: &str) -> Result<Vec<Document>, SyntaxError> {
    parse_as(text, Schema::GoYaml11)
}

impl SyntaxError {
    /// The error as go-yaml v2 words the same problem (`yaml: line 2: did
    /// not find expected ',' or ']'`), for messages that quote Argo CD's.
    /// The common problems are translated and their line counted as
    /// go-yaml counts it (a parser error names the line before, a scanner
    /// error its own; the first line is not named); others keep this
    /// parser's wording.
    pub fn go_yaml_text(&self) -> String {
        let m = self.message.as_str();
        let (problem, scanner) = if m.starts_with("while parsing a flow sequence, expected") {
            ("did not find expected ',' or ']'".to_string(), false)
        } else if m == "simple key expect ':'" {
            ("could not find expected ':'".to_string(), true)
        } else if m.starts_with("tabs disallowed") {
            (
                "found character that cannot start any token".to_string(),
                true,
            )
        } else if m.starts_with("while scanning") || m.starts_with("mapping values") {
            let p = m.split_once(", ").map_or(m, |(_, p)| p);
            (p.to_string(), true)
        } else {
            let p = m
                .strip_prefix("while parsing")
                .and_then(|rest| rest.split_once(", "))
                .map_or(m, |(_, p)| p);
            (p.to_string(), false)
        };
        let zero_based = self.pos.line.saturating_sub(1);
        let line = if scanner { zero_based + 1 } else { zero_based };
        if zero_based == 0 {
            format!("yaml: {problem}")
        } else {
            format!("yaml: line {line}: {problem}")
        }
    }
}

fn parse_as(text: &str, schema: Schema) -> Result<Vec<Document>, SyntaxError> {
    let pre = recover::prepare(text);
    let events = collect_events(&pre.text, &pre)?;
    let mut builder = Builder {
        events: &events,
        at: 0,
        anchors: BTreeMap::new(),
        expanded: 0,
        pre: &pre,
        doc: Document::default(),
        recovered_values: Vec::new(),
        error: None,
        schema,
    };
    let mut docs: Vec<(Document, usize)> = Vec::new();
    while let Some((event, span)) = builder.next() {
        if let Event::DocumentStart(_) = event {
            let start_line = span.start.line();
            let (value, empty) = builder.document();
            let doc = std::mem::take(&mut builder.doc);
            if !empty {
                docs.push((
                    Document {
                        value,
                        recoveries: std::mem::take(&mut builder.recovered_values),
                        ..doc
                    },
                    start_line,
                ));
            }
            builder.recovered_values.clear();
        }
    }
    if let Some(error) = builder.error {
        return Err(error);
    }
    for line in &pre.template_lines {
        // The document that holds the line: the last one starting at or before it.
        let idx = docs
            .iter()
            .rposition(|(_, start)| *start <= line.line)
            .unwrap_or(0);
        if let Some((doc, _)) = docs.get_mut(idx) {
            let pointer = enclosing_mapping(doc, line.line, line.indent);
            doc.recoveries.push(Recovery {
                pointer,
                pos: Pos {
                    line: line.line,
                    column: line.indent + 1,
                },
                text: line.text.clone(),
                kind: RecoveryKind::UnquotedTemplate,
            });
            doc.recoveries.sort_by_key(|r| r.pos);
        }
    }
    Ok(docs.into_iter().map(|(d, _)| d).collect())
}

/// The pointer of the mapping a line at `indent` (0-based) belongs to: judged
/// from the keys written before it.
fn enclosing_mapping(doc: &Document, line: usize, indent: usize) -> String {
    let mut best: Option<(&String, Pos)> = None;
    for (pointer, pos) in &doc.keys {
        if pos.line < line && pos.column <= indent + 1 && best.is_none_or(|(_, b)| *pos > b) {
            best = Some((pointer, *pos));
        }
    }
    match best {
        Some((pointer, pos)) if pos.column == indent + 1 => parent_pointer(pointer).to_string(),
        Some((pointer, _)) => pointer.clone(),
        None => String::new(),
    }
}

fn parent_pointer(pointer: &str) -> &str {
    pointer.rfind('/').map_or("", |i| &pointer[..i])
}

type Spanned<'a> = (Event<'a>, Span);

/// Deeper nesting is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Nodes in one input, counting what aliases expand to: far above any
/// manifest Kubernetes stores (1.5 MB objects), far below what exhausts memory.
pub const MAX_NODES: usize = 500_000;

fn collect_events<'a>(
    text: &'a str,
    pre: &recover::Prepared,
) -> Result<Vec<Spanned<'a>>, SyntaxError> {
    let mut events = Vec::new();
    let mut depth = 0usize;
    let mut nodes = 0usize;
    for item in Parser::new_from_str(text) {
        match item {
            Ok(ev) => {
                match ev.0 {
                    Event::SequenceStart(..) | Event::MappingStart(..) => {
                        depth += 1;
                        nodes += 1;
                    }
                    Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
                    Event::Scalar(..) | Event::Alias(..) => nodes += 1,
                    _ => {}
                }
                if nodes > MAX_NODES {
                    return Err(SyntaxError {
                        pos: pre.original_pos(ev.1.start.line(), ev.1.start.col()),
                        message: format!(
                            "more than {MAX_NODES} nodes; inputs are limited to {MAX_NODES} YAML nodes"
                        ),
                    });
                }
                if depth > MAX_DEPTH {
                    return Err(SyntaxError {
                        pos: pre.original_pos(ev.1.start.line(), ev.1.start.col()),
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                events.push(ev);
            }
            Err(e) => {
                let m = e.marker();
                return Err(SyntaxError {
                    pos: pre.original_pos(m.line(), m.col()),
                    message: e.info().to_string(),
                });
            }
        }
    }
    Ok(events)
}

struct Builder<'e, 'a> {
    events: &'e [Spanned<'a>],
    at: usize,
    /// Anchored values with their size in nodes.
    anchors: BTreeMap<usize, (Value, usize)>,
    /// Nodes produced so far by aliases; bounded by [`MAX_NODES`].
    expanded: usize,
    pre: &'e recover::Prepared,
    doc: Document,
    recovered_values: Vec<Recovery>,
    /// The first problem the events themselves do not flag: a duplicate key.
    error: Option<SyntaxError>,
    schema: Schema,
}

impl<'e, 'a> Builder<'e, 'a> {
    fn next(&mut self) -> Option<&'e Spanned<'a>> {
        let ev = self.events.get(self.at)?;
        self.at += 1;
        Some(ev)
    }

    fn peek_is(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.get(self.at).is_some_and(|(e, _)| f(e))
    }

    /// Reads one document's root node up to its end; says whether it was empty.
    fn document(&mut self) -> (Value, bool) {
        let empty = matches!(
            self.events.get(self.at),
            Some((Event::Scalar(s, ScalarStyle::Plain, 0, None), _)) if s.is_empty()
        );
        let value = self.node("");
        while let Some((event, _)) = self.next() {
            if matches!(event, Event::DocumentEnd) {
                break;
            }
        }
        (value, empty)
    }

    fn pos(&self, span: &Span) -> Pos {
        self.pre.original_pos(span.start.line(), span.start.col())
    }

    fn node(&mut self, pointer: &str) -> Value {
        let Some((event, span)) = self.next() else {
            return Value::Null;
        };
        let pos = self.pos(span);
        self.doc.values.insert(pointer.to_string(), pos);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = match self.schema {
                    Schema::Core => scalar(text, *style, tag.as_deref()),
                    Schema::GoYaml11 => scalar_yaml11(text, *style, tag.as_deref()),
                };
                if let Some(original) = self.pre.rewritten_at(span.start.line(), span.start.col()) {
                    self.recovered_values.push(Recovery {
                        pointer: pointer.to_string(),
                        pos,
                        text: original.to_string(),
                        kind: RecoveryKind::UnquotedTemplate,
                    });
                }
                self.anchor(*anchor, &value);
                value
            }
            Event::Alias(id) => {
                let Some((value, size)) = self.anchors.get(id) else {
                    return Value::Null;
                };
                // Aliases of aliases grow exponentially ("billion laughs"):
                // what they expand to counts against the same node budget.
                self.expanded = self.expanded.saturating_add(*size);
                if self.expanded > MAX_NODES {
                    if self.error.is_none() {
                        self.error = Some(SyntaxError {
                            pos,
                            message: format!(
                                "aliases expand to more than {MAX_NODES} nodes; \
                                 inputs are limited to {MAX_NODES} YAML nodes"
                            ),
                        });
                    }
                    return Value::Null;
                }
                value.clone()
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                while !self.peek_is(|e| matches!(e, Event::SequenceEnd))
                    && self.at < self.events.len()
                {
                    let child = pointer_push(pointer, &items.len().to_string());
                    items.push(self.node(&child));
                }
                self.next();
                let value = Value::Array(items);
                self.anchor(*anchor, &value);
                value
            }
            Event::MappingStart(anchor, _) => {
                let mut map = serde_json::Map::new();
                let mut merged = Vec::new();
                while !self.peek_is(|e| matches!(e, Event::MappingEnd))
                    && self.at < self.events.len()
                {
                    if self.peek_is(is_merge_key) {
                        // `<<: *base` (or a list of them): merged after the
                        // mapping's own keys, which win, as YAML 1.1 says and
                        // Argo CD and kubectl read it.
                        self.next();
                        let at = self.events.get(self.at).map_or(pos, |(_, s)| self.pos(s));
                        let value = self.node(&pointer_push(pointer, "<<"));
                        merged.push((at, value));
                        continue;
                    }
                    let key_pos = self
                        .events
                        .get(self.at)
                        .map(|(_, s)| self.pos(s))
                        .unwrap_or(pos);
                    // Keys get no pointer of their own: parse them aside.
                    let saved = std::mem::take(&mut self.doc.values);
                    let key_value = self.node("");
                    self.doc.values = saved;
                    // A mapping or a sequence as a key (`? [a]: b`) has no
                    // JSON form: Kubernetes and Argo CD refuse it. Refused
                    // here too, before its text is made: nested ones would
                    // escape each other's quotes into an exponentially long
                    // string.
                    let key = if key_value.is_object() || key_value.is_array() {
                        if self.error.is_none() {
                            self.error = Some(SyntaxError {
                                pos: key_pos,
                                message: format!(
                                    "a mapping key must be a scalar, not {}: Kubernetes and \
                                     Argo CD read YAML as JSON, whose keys are strings",
                                    kind_name(&key_value)
                                ),
                            });
                        }
                        format!("<complex key {}>", map.len())
                    } else {
                        key_text(key_value, self.schema)
                    };
                    let child = pointer_push(pointer, &key);
                    // go-yaml v2 lets a later duplicate win.
                    if let Some(first) = self
                        .doc
                        .keys
                        .get(&child)
                        .filter(|_| map.contains_key(&key) && self.schema == Schema::Core)
                    {
                        if self.error.is_none() {
                            self.error = Some(SyntaxError {
                                pos: key_pos,
                                message: format!(
                                    "duplicate key `{key}` (first at line {})",
                                    first.line
                                ),
                            });
                        }
                    }
                    self.doc.keys.insert(child.clone(), key_pos);
                    let value = self.node(&child);
                    map.insert(key, value);
                }
                self.next();
                self.doc.values.remove(&pointer_push(pointer, "<<"));
                for (at, value) in merged {
                    self.merge(&mut map, at, value);
                }
                let value = Value::Object(map);
                self.anchor(*anchor, &value);
                value
            }
            _ => Value::Null,
        }
    }

    /// Adds the entries of a merge value (a mapping or a list of mappings,
    /// earlier ones first) that `map` does not have yet.
    fn merge(&mut self, map: &mut serde_json::Map<String, Value>, at: Pos, value: Value) {
        let sources = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for source in sources {
            let Value::Object(entries) = source else {
                if self.error.is_none() {
                    self.error = Some(SyntaxError {
                        pos: at,
                        message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                    });
                }
                return;
            };
            for (key, value) in entries {
                map.entry(key).or_insert(value);
            }
        }
    }

    fn anchor(&mut self, id: usize, value: &Value) {
        if id != 0 {
            self.anchors.insert(id, (value.clone(), node_count(value)));
        }
    }
}

fn is_merge_key(event: &Event) -> bool {
    matches!(event, Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<")
}

fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum::<usize>() + map.len(),
        _ => 0,
    }
}

/// A value's kind as a message names it ("a mapping", "a sequence", …).
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// The text a non-string key stands for.
fn key_text(key: Value, schema: Schema) -> String {
    match key {
        Value::String(s) => s,
        // sigs.k8s.io/yaml writes a float key as go-yaml does, at float32
        // precision.
        Value::Number(n) if schema == Schema::GoYaml11 && !(n.is_i64() || n.is_u64()) => {
            crate::appset::template::gofmt::float32(n.as_f64().unwrap_or_default() as f32)
        }
        other => other.to_string(),
    }
}

/// Resolves a scalar as go-yaml v2 does (`resolve.go`) for a value decoded
/// into `interface{}`: timestamps stay strings there, NaN and infinities
/// (which JSON cannot hold) are left as the text written.
fn scalar_yaml11(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() && matches!(tag.suffix.as_str(), "str" | "binary") {
            return Value::String(text.to_string());
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        if let Some(n) = go_parse_float(text).and_then(serde_json::Number::from_f64) {
            return Value::Number(n);
        }
    } else if first.is_ascii_digit() || first == b'+' || first == b'-' {
        let plain = text.replace('_', "");
        if let Some(n) = go_parse_int(&plain) {
            return Value::Number(n);
        }
        if is_float(&plain)
            && let Some(n) = go_parse_float(&plain).and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
        let binary = |digits: &str, negative: bool| {
            let m = u64::from_str_radix(digits, 2).ok()?;
            if negative {
                i64::try_from(m).ok().map(|i| serde_json::Number::from(-i))
            } else {
                Some(serde_json::Number::from(m))
            }
        };
        if let Some(b) = plain.strip_prefix("0b")
            && let Some(n) = binary(b, false)
        {
            return Value::Number(n);
        }
        if let Some(b) = plain.strip_prefix("-0b")
            && let Some(n) = binary(b, true)
        {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

/// Whether go-yaml v2 would write the string `s` unquoted: it quotes any
/// string that a plain scalar would resolve to something else (a YAML 1.1
/// null, bool, number, infinity, timestamp or base-60 number).
pub fn go_yaml11_plain_is_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN",
    ];
    if s.is_empty() || SPECIAL.contains(&s) || is_go_yaml_timestamp(s) || is_base60(s) {
        return false;
    }
    matches!(scalar_yaml11(s, ScalarStyle::Plain, None), Value::String(_))
}

/// go-yaml v2's `isBase60Float`: `[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?`.
fn is_base60(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return false;
    }
    let mut parts = int.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_');
    let rest: Vec<&str> = parts.collect();
    head_ok
        && !rest.is_empty()
        && rest.iter().all(|p| {
            let b = p.as_bytes();
            match b {
                [d] => d.is_ascii_digit(),
                [h, d] => (b'0'..=b'5').contains(h) && d.is_ascii_digit(),
                _ => false,
            }
        })
}

/// go-yaml v2's `parseTimestamp`: four digits and `-`, then a date (and
/// time) Go's `time.Parse` accepts in one of its layouts.
fn is_go_yaml_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    // `2006-1-2` then nothing, `T`/`t`/` ` and `15:4:5.999999999`, then a zone
    // (`Z07:00`, only after `T`/`t`).
    let num = |s: &str, max_len: usize| -> Option<(u32, usize)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > max_len {
            return None;
        }
        Some((s[..n].parse().ok()?, n))
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let rest = &s[5..];
    let Some((month, n)) = num(rest, 2) else {
        return false;
    };
    let rest = &rest[n..];
    let Some(rest) = rest.strip_prefix('-') else {
        return false;
    };
    let Some((day, n)) = num(rest, 2) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    let rest = &rest[n..];
    if rest.is_empty() {
        return true;
    }
    let zoned = rest.starts_with(['T', 't']);
    if !zoned && !rest.starts_with(' ') {
        return false;
    }
    let mut rest = &rest[1..];
    for (i, max) in [(0, 23), (1, 59), (2, 59)] {
        if i > 0 {
            let Some(r) = rest.strip_prefix(':') else {
                return false;
            };
            rest = r;
        }
        let Some((v, n)) = num(rest, 2) else {
            return false;
        };
        if v > max {
            return false;
        }
        rest = &rest[n..];
    }
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &r[n..];
    }
    if !zoned {
        return rest.is_empty();
    }
    if rest == "Z" {
        return true;
    }
    let b = rest.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3] == b':'
        && b[4..6].iter().all(u8::is_ascii_digit)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`: a sign,
/// then `0x`, `0o`, `0b` or a leading `0` (octal) or decimal digits.
fn go_parse_int(s: &str) -> Option<serde_json::Number> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let n = i64::try_from(magnitude)
            .ok()
            .map(|m| -m)
            .or_else(|| (magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(n.into())
    } else {
        Some(magnitude.into())
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms go-yaml lets through.
fn go_parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Resolves a scalar by the YAML 1.2 core schema.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() && tag.suffix == "str" {
            return Value::String(text.to_string());
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = integer(text) {
        return Value::Number(n);
    }
    if is_float(text) {
        if let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

fn integer(text: &str) -> Option<serde_json::Number> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if digits.is_empty() || (radix != 10 && text.len() != digits.len() + 2) {
        return None;
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let n = i64::try_from(magnitude).ok()?;
        Some((-n).into())
    } else {
        Some(magnitude.into())
    }
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Deserializes the node at `pointer` of `doc` into `T`, naming the place of
/// any error.
pub fn decode<T: DeserializeOwned>(doc: &Document, pointer: &str) -> Result<T, DecodeError> {
    let Some(value) = doc.value.pointer(pointer) else {
        return Err(DecodeError {
            pointer: pointer.to_string(),
            pos: doc.pos(pointer),
            message: format!("missing `{}`", display_path(&doc.value, pointer)),
            suggestion: None,
        });
    };
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let mut at = pointer.to_string();
        for segment in err.path() {
            match segment {
                Segment::Seq { index } => at = pointer_push(&at, &index.to_string()),
                Segment::Map { key } => at = pointer_push(&at, key),
                Segment::Enum { .. } | Segment::Unknown => {}
            }
        }
        describe(doc, at, &err.into_inner().to_string())
    })
}

/// Turns serde's message into a fragment that names the place.
fn describe(doc: &Document, at: String, serde_message: &str) -> DecodeError {
    let path = |p: &str| display_path(&doc.value, p);
    if let Some(rest) = serde_message.strip_prefix("unknown field `") {
        let (name, expected) = split_name(rest);
        // The path may or may not already end at the unknown key.
        let (container, key) = if at.rsplit('/').next() == Some(&escape(name)) && !at.is_empty() {
            (parent_pointer(&at).to_string(), at.clone())
        } else {
            (at.clone(), pointer_push(&at, name))
        };
        let message = if container.is_empty() {
            format!("unknown field `{name}` at the top level")
        } else {
            format!("unknown field `{name}` in `{}`", path(&container))
        };
        return DecodeError {
            pos: doc.pos(&key),
            pointer: key,
            message,
            suggestion: closest(name, &expected),
        };
    }
    if let Some(rest) = serde_message.strip_prefix("unknown variant `") {
        let (name, expected) = split_name(rest);
        let list = expected
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return DecodeError {
            pos: value_pos(doc, &at),
            message: format!(
                "unknown variant `{name}` for `{}`, expected one of {list}",
                path(&at)
            ),
            pointer: at,
            suggestion: closest(name, &expected),
        };
    }
    let place = if at.is_empty() {
        "the document".to_string()
    } else {
        format!("`{}`", path(&at))
    };
    let message = if serde_message.starts_with("missing field") {
        if at.is_empty() {
            format!("{serde_message} at the top level")
        } else {
            format!("{serde_message} in {place}")
        }
    } else if let Some(rest) = serde_message.strip_prefix("invalid type: ") {
        format!("invalid type for {place}: {rest}")
    } else if let Some(rest) = serde_message.strip_prefix("invalid value: ") {
        format!("invalid value for {place}: {rest}")
    } else {
        format!("{serde_message} at {place}")
    };
    // A missing field is reported at its mapping's key, a bad value at the value.
    let pos = if serde_message.starts_with("missing field") {
        doc.pos(&at)
    } else {
        value_pos(doc, &at)
    };
    DecodeError {
        pos,
        pointer: at,
        message,
        suggestion: None,
    }
}

/// Where the value at `pointer` is written, else its key or nearest ancestor.
fn value_pos(doc: &Document, pointer: &str) -> Option<Pos> {
    doc.values
        .get(pointer)
        .copied()
        .or_else(|| doc.pos(pointer))
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Splits "name`, expected one of `a`, `b`" into the name and the expected names.
fn split_name(rest: &str) -> (&str, Vec<String>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (name, expected)
}

/// The valid name nearest to `name`, if one is near enough to be a typo.
pub fn closest(name: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| {
            let jw = strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase());
            let lev = strsim::levenshtein(name, c);
            (c, jw, lev)
        })
        .filter(|(_, jw, lev)| *jw >= 0.8 || *lev <= 2)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)))
        .map(|(c, _, _)| c.clone())
}

/// A pointer as a reader writes the path: `spec.clusters[1].name`.
pub fn display_path(root: &Value, pointer: &str) -> String {
    let mut out = String::new();
    let mut node = Some(root);
    for segment in pointer.split('/').skip(1) {
        let key = unescape(segment);
        match node {
            Some(Value::Array(items)) => {
                out.push_str(&format!("[{key}]"));
                node = key.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&key);
                node = match other {
                    Some(Value::Object(map)) => map.get(&key),
                    _ => None,
                };
            }
        }
    }
    out
}

/// Writes a value as YAML.
pub fn to_string<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# unserializable: {e}\n"))
}

/// Appends a key to a JSON pointer, escaping it as RFC 6901 says.
/// Appends `/key`, escaped, to the pointer in `buf` (see [`pointer_push`]).
pub fn pointer_push_into(buf: &mut String, key: &str) {
    buf.push('/');
    if key.contains(['~', '/']) {
        buf.push_str(&escape(key));
    } else {
        buf.push_str(key);
    }
}

pub fn pointer_push(base: &str, key: &str) -> String {
    // On the hot path of expansion and lint (once per node): one allocation
    // when the key needs no escaping, which is nearly always.
    let mut pointer = String::with_capacity(base.len() + 1 + key.len());
    pointer.push_str(base);
    pointer.push('/');
    if key.contains(['~', '/']) {
        pointer.push_str(&escape(key));
    } else {
        pointer.push_str(key);
    }
    pointer
}

/// The text rewrite behind template recovery, and the way back to the
/// original positions.
mod recover {
    use super::Pos;

    /// A value rewritten as a single-quoted string.
    pub(super) struct Rewrite {
        /// 1-based line.
        line: usize,
        /// 0-based character column where the value starts (in both texts).
        col: usize,
        original_len: usize,
        rewritten_len: usize,
        pub(super) original: String,
    }

    /// A line that is only a template, read as a comment.
    pub(super) struct TemplateLine {
        pub(super) line: usize,
        /// 0-based character column of the template.
        pub(super) indent: usize,
        pub(super) text: String,
    }

    pub(super) struct Prepared {
        pub(super) text: String,
        pub(super) rewrites: Vec<Rewrite>,
        pub(super) template_lines: Vec<TemplateLine>,
    }

    impl Prepared {
        /// Maps a parser position (1-based line, 0-based column in the
        /// rewritten text) to the original text.
        pub(super) fn original_pos(&self, line: usize, col: usize) -> Pos {
            let mut column = col;
            for r in self
                .rewrites
                .iter()
                .filter(|r| r.line == line && col > r.col)
            {
                column = if col >= r.col + r.rewritten_len {
                    col + r.original_len - r.rewritten_len
                } else {
                    r.col + (col - r.col).saturating_sub(1).min(r.original_len)
                };
            }
            Pos {
                line,
                column: column + 1,
            }
        }

        /// The original text of a value rewritten to start at this place.
        pub(super) fn rewritten_at(&self, line: usize, col: usize) -> Option<&str> {
            self.rewrites
                .iter()
                .find(|r| r.line == line && r.col == col)
                .map(|r| r.original.as_str())
        }
    }

    pub(super) fn prepare(text: &str) -> Prepared {
        let mut out = Prepared {
            text: String::with_capacity(text.len() + 16),
            rewrites: Vec::new(),
            template_lines: Vec::new(),
        };
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        // Lines indented more than this belong to a block scalar's body.
        let mut block_body_over: Option<usize> = None;
        // The column of the key on the last line if it was `key:` with its value to follow.
        let mut open_key: Option<usize> = None;
        for (i, raw) in lines.iter().copied().enumerate() {
            let line_no = i + 1;
            let body = raw.trim_end_matches(['\n', '\r']);
            let ending = &raw[body.len()..];
            let indent = body.len() - body.trim_start_matches(' ').len();
            let trimmed = &body[indent..];
            if let Some(over) = block_body_over {
                if trimmed.is_empty() || indent > over {
                    out.text.push_str(raw);
                    continue;
                }
                block_body_over = None;
            }
            let mut kind = scan_line(body, indent);
            if matches!(kind, LineKind::TemplateLine)
                && open_key.is_some_and(|key| indent > key)
                && next_indent(&lines[i + 1..]).is_none_or(|next| next < indent)
            {
                // `key:` then a more indented template and nothing else: the
                // template is the key's value (e.g. a list it generates).
                kind = LineKind::Template { at: indent };
            }
            if !trimmed.is_empty()
                && !trimmed.starts_with('#')
                && !matches!(kind, LineKind::TemplateLine)
            {
                open_key = opened_key(body, indent);
            }
            match kind {
                LineKind::Template { at } => {
                    let original = value_text(&body[at..]);
                    let col = body[..at].chars().count();
                    let quoted = format!("'{}'", original.replace('\'', "''"));
                    out.rewrites.push(Rewrite {
                        line: line_no,
                        col,
                        original_len: original.chars().count(),
                        rewritten_len: quoted.chars().count(),
                        original: original.to_string(),
                    });
                    out.text.push_str(&body[..at]);
                    out.text.push_str(&quoted);
                    out.text.push_str(&body[at + original.len()..]);
                    out.text.push_str(ending);
                }
                LineKind::TemplateLine => {
                    out.template_lines.push(TemplateLine {
                        line: line_no,
                        indent,
                        text: trimmed.trim_end().to_string(),
                    });
                    out.text.push_str(&body[..indent]);
                    out.text.push('#');
                    out.text.push_str(trimmed);
                    out.text.push_str(ending);
                }
                LineKind::BlockScalar { over } => {
                    block_body_over = Some(over);
                    out.text.push_str(raw);
                }
                LineKind::Other => out.text.push_str(raw),
            }
        }
        out
    }

    /// The indentation of the next line that is neither blank nor a comment.
    fn next_indent(lines: &[&str]) -> Option<usize> {
        lines.iter().find_map(|raw| {
            let body = raw.trim_end_matches(['\n', '\r']);
            let trimmed = body.trim_start_matches(' ');
            (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| body.len() - trimmed.len())
        })
    }

    /// The column of the key if the line is `key:` (after any `- `) with no value.
    fn opened_key(body: &str, indent: usize) -> Option<usize> {
        let (at, _) = after_dashes(body, indent);
        let rest = &body[at..];
        let colon = key_end(rest)?;
        value_text(&rest[colon + 1..])
            .trim()
            .is_empty()
            .then(|| body[..at].chars().count())
    }

    /// The byte offset after the `- ` sequence entries that start a line, and
    /// the offset of the last dash.
    fn after_dashes(body: &str, indent: usize) -> (usize, usize) {
        let mut at = indent;
        let mut node_col = indent;
        while body[at..].starts_with("- ") {
            let rest = &body[at..];
            node_col = at;
            at += 1 + (rest.len() - 1 - rest[1..].trim_start_matches(' ').len());
        }
        (at, node_col)
    }

    enum LineKind {
        /// A value starting with `{{` at this byte offset.
        Template {
            at: usize,
        },
        /// The line holds only a template.
        TemplateLine,
        /// The line starts a block scalar whose body is indented over this column.
        BlockScalar {
            over: usize,
        },
        Other,
    }

    fn scan_line(body: &str, indent: usize) -> LineKind {
        let trimmed = &body[indent..];
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("---")
            || trimmed.starts_with("...")
        {
            return LineKind::Other;
        }
        // Sequence entries: `- `, `- - `.
        let (at, node_col) = after_dashes(body, indent);
        let rest = &body[at..];
        if rest.starts_with("{{") {
            if at > indent {
                return LineKind::Template { at };
            }
            if value_text(rest).ends_with("}}") {
                return LineKind::TemplateLine;
            }
            return LineKind::Other;
        }
        match key_end(rest) {
            Some(colon) => {
                let after = &rest[colon + 1..];
                let value_at = at + colon + 1 + (after.len() - after.trim_start().len());
                let value = &body[value_at..];
                if value.starts_with("{{") {
                    LineKind::Template { at: value_at }
                } else if is_block_indicator(value_text(value)) {
                    LineKind::BlockScalar {
                        over: body[..at].chars().count(),
                    }
                } else {
                    LineKind::Other
                }
            }
            None if at > indent && is_block_indicator(value_text(rest)) => {
                LineKind::BlockScalar { over: node_col }
            }
            None => LineKind::Other,
        }
    }

    /// The byte offset of the `:` that ends a block mapping key at the start of `rest`.
    fn key_end(rest: &str) -> Option<usize> {
        let bytes = rest.as_bytes();
        let mut i = 0;
        match bytes.first()? {
            b'{' | b'[' | b'&' | b'*' | b'!' | b'|' | b'>' | b'#' => return None,
            q @ (b'"' | b'\'') => {
                i = 1;
                while i < bytes.len() {
                    if bytes[i] == b'\\' && *q == b'"' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == *q {
                        if *q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
                return (bytes.get(i) == Some(&b':')
                    && matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')))
                .then_some(i);
            }
            _ => {}
        }
        while i < bytes.len() {
            match bytes[i] {
                b':' if matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')) => return Some(i),
                b'#' if i > 0 && matches!(bytes[i - 1], b' ' | b'\t') => return None,
                _ => {}
            }
            i += 1;
        }
        None
    }

    fn is_block_indicator(value: &str) -> bool {
        let mut chars = value.chars();
        matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
    }

    /// A value's text up to an unquoted ` #` comment, without trailing blanks.
    fn value_text(value: &str) -> &str {
        let bytes = value.as_bytes();
        let mut depth = 0usize;
        let mut in_quotes = false;
        let mut end = value.len();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                b'"' => in_quotes = !in_quotes,
                b'#' if depth == 0
                    && !in_quotes
                    && i > 0
                    && matches!(bytes[i - 1], b' ' | b'\t') =>
                {
                    end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        value[..end].trim_end()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pointer_push_escapes_only_what_rfc_6901_says() {
        assert_eq!(super::pointer_push("/spec", "template"), "/spec/template");
        assert_eq!(super::pointer_push("", "a/b~c"), "/a~1b~0c");
    }

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    /// Found by fuzzing: 26 nested `?` keys made a key whose text doubled
    /// its escapes at each level (2^26 characters) and hung the linter.
    #[test]
    fn a_mapping_or_sequence_as_a_key_is_an_error_with_its_place() {
        let nested = "?  ? ? ?  ? ? ? ? ? ?  ? ? ? ? ? ? ? ? ?  ? ? ? ? ? \n";
        let started = std::time::Instant::now();
        let e = parse(nested).expect_err("a complex key");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(e.message.contains("must be a scalar"), "{}", e.message);
        let e = parse("a: 1\n? [x, y]\n: b\n").expect_err("a sequence key");
        assert_eq!(
            (e.pos.line, e.message.contains("a sequence")),
            (2, true),
            "{e:?}"
        );
        // Scalar keys of other types keep their text.
        assert_eq!(one("1: a\ntrue: b\n").value, json!({"1": "a", "true": "b"}));
    }

    fn one(text: &str) -> Document {
        let mut docs = parse(text).expect("valid YAML");
        assert_eq!(docs.len(), 1, "one document");
        docs.remove(0)
    }

    fn at(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn positions_of_keys_and_values_in_nested_maps_and_sequences() {
        let doc = one(
            "spec:\n  clusters:\n    - name: dev\n      server: x\n    - name: prod\nlist: [a, b]\n",
        );
        assert_eq!(doc.keys["/spec"], at(1, 1));
        assert_eq!(doc.keys["/spec/clusters"], at(2, 3));
        assert_eq!(doc.keys["/spec/clusters/0/name"], at(3, 7));
        assert_eq!(doc.values["/spec/clusters/0/name"], at(3, 13));
        assert_eq!(doc.values["/spec/clusters/0/server"], at(4, 15));
        assert_eq!(doc.keys["/spec/clusters/1/name"], at(5, 7));
        assert_eq!(doc.values["/list/1"], at(6, 11));
        assert_eq!(doc.pos("/spec/clusters/1/name"), Some(at(5, 7)));
        assert_eq!(doc.pos("/spec/clusters/1/name/deeper"), Some(at(5, 7)));
        assert_eq!(
            doc.value,
            json!({"spec": {"clusters": [{"name": "dev", "server": "x"}, {"name": "prod"}]}, "list": ["a", "b"]})
        );
    }

    #[test]
    fn keys_are_escaped_in_pointers_and_keep_their_order() {
        let doc = one("z: 1\na/b: 2\nc~d: 3\n");
        assert_eq!(doc.keys["/a~1b"], at(2, 1));
        assert_eq!(doc.keys["/c~0d"], at(3, 1));
        let keys: Vec<_> = doc.value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a/b", "c~d"]);
    }

    #[test]
    fn multiple_documents_skip_empty_ones() {
        let docs = parse("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].value, json!({"b": 2}));
        assert_eq!(docs[1].keys["/b"], at(3, 1));
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn merge_keys_merge_and_the_mappings_own_keys_win() {
        let doc = one(concat!(
            "base: &b {replicas: 1, image: a}\n",
            "extra: &e {image: b, port: 80}\n",
            "dev:\n  <<: *b\n  replicas: 2\n",
            "prod:\n  <<: [*e, *b]\n",
            "quoted:\n  '<<': literal\n",
        ));
        assert_eq!(doc.value["dev"], json!({"replicas": 2, "image": "a"}));
        assert_eq!(
            doc.value["prod"],
            json!({"image": "b", "port": 80, "replicas": 1})
        );
        assert_eq!(doc.value["quoted"], json!({"<<": "literal"}));
        assert_eq!(doc.keys["/dev/replicas"], at(5, 3));
        assert!(!doc.values.contains_key("/dev/<<"));
    }

    #[test]
    fn a_merge_of_a_scalar_is_an_error() {
        let err = parse("a:\n  <<: 5\n").unwrap_err();
        assert!(err.message.contains("merge key"), "{err}");
        assert_eq!(err.pos, at(2, 7));
    }

    #[test]
    fn an_alias_bomb_stops_at_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let started = std::time::Instant::now();
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("aliases expand to more than"), "{err}");
        assert!(err.message.contains(&MAX_NODES.to_string()), "{err}");
        // Stopped early, not after building 9^10 nodes.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn too_many_nodes_is_an_error_with_a_place() {
        let text = format!("[{}]\n", vec!["1"; MAX_NODES + 1].join(","));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("more than 500000 nodes"), "{err}");
        assert_eq!(err.pos.line, 1);
    }

    #[test]
    fn anchors_and_aliases_are_cloned() {
        let doc = one("base: &b {x: 1, y: [2]}\ncopy: *b\nname: &n dev\nother: *n\n");
        assert_eq!(doc.value["copy"], json!({"x": 1, "y": [2]}));
        assert_eq!(doc.value["other"], json!("dev"));
        assert_eq!(doc.values["/copy"], at(2, 7));
    }

    #[test]
    fn go_yaml_schema_reads_yaml_1_1() {
        // What sigs.k8s.io/yaml (go-yaml v2) makes of these, run with Go.
        let text = "a: yes\nb: no\nc: on\nd: 0755\ne: 1_000\nf: 0x1F\ng: 1e3\nh: .5\n\
                    i: 08\nj: 2024-01-02\nk: ~\nl: 1.0\nm: -0\nn: +5\no: 0b101\nq: 1e400\n\
                    r: \"yes\"\ny: Y\n1.5: float key\n";
        let v = parse_go_yaml(text).unwrap().remove(0).value;
        assert_eq!(
            v,
            serde_json::json!({
                "a": true, "b": false, "c": true, "d": 493, "e": 1000, "f": 31, "g": 1000.0,
                "h": 0.5, "i": 8.0, "j": "2024-01-02", "k": null, "l": 1.0, "m": 0, "false": 5,
                "o": 5, "q": "1e400", "r": "yes", "true": true, "1.5": "float key"
            })
        );
        // A later duplicate key wins there (here it is an error).
        let v = parse_go_yaml("on: 1\ntrue: 2\n").unwrap().remove(0).value;
        assert_eq!(v, serde_json::json!({"true": 2}));
        assert!(parse("a: 1\na: 2\n").is_err());
    }

    #[test]
    fn go_yaml_errors_are_worded_as_go_yaml_words_them() {
        // go-yaml v2's messages for the same texts, run with Go.
        for (text, go) in [
            (
                "- name: [unclosed\n",
                "yaml: line 1: did not find expected ',' or ']'",
            ),
            ("a: {b\n", "yaml: line 1: did not find expected ',' or '}'"),
            ("- a: b\n  c\n", "yaml: line 3: could not find expected ':'"),
            (
                "- a\n- b: c\n  - d\n",
                "yaml: line 2: did not find expected key",
            ),
            (
                "a:\n\tb: c\n",
                "yaml: line 2: found character that cannot start any token",
            ),
            (
                "- [a, b\n- c\n",
                "yaml: line 2: did not find expected ',' or ']'",
            ),
            (
                "a: b: c\n",
                "yaml: mapping values are not allowed in this context",
            ),
        ] {
            assert_eq!(
                parse_go_yaml(text).unwrap_err().go_yaml_text(),
                go,
                "{text:?}"
            );
        }
    }

    #[test]
    fn go_yaml_quotes_strings_that_read_as_other_types() {
        for s in [
            "yes",
            "n",
            "1_000",
            "0x1F",
            "2024-01-02",
            "2024-01-02T10:00:00Z",
            "12:30",
            ".inf",
            "",
        ] {
            assert!(!go_yaml11_plain_is_string(s), "{s}");
        }
        for s in [
            "2024-13-45",
            "1e400",
            "1.0.0",
            "é",
            "12345-1-1",
            "2024-01-02T10:00:00",
        ] {
            assert!(go_yaml11_plain_is_string(s), "{s}");
        }
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let doc = one(concat!(
            "n1: ~\nn2: null\nn3:\nb1: true\nb2: False\nb3: TRUE\n",
            "i1: 42\ni2: -7\ni3: 0x1F\ni4: 0o17\nf1: 1.5\nf2: -2e3\nf3: .5\n",
            "inf: .inf\nnan: .nan\ns1: yes\ns2: '42'\ns3: \"true\"\ns4: v3.5.1\ns5: 1.2.3\n",
            "1: one\ntrue: yes\n"
        ));
        let v = &doc.value;
        assert_eq!(v["n1"], Value::Null);
        assert_eq!(v["n2"], Value::Null);
        assert_eq!(v["n3"], Value::Null);
        assert_eq!(v["b1"], json!(true));
        assert_eq!(v["b2"], json!(false));
        assert_eq!(v["b3"], json!(true));
        assert_eq!(v["i1"], json!(42));
        assert_eq!(v["i2"], json!(-7));
        assert_eq!(v["i3"], json!(31));
        assert_eq!(v["i4"], json!(15));
        assert_eq!(v["f1"], json!(1.5));
        assert_eq!(v["f2"], json!(-2000.0));
        assert_eq!(v["f3"], json!(0.5));
        assert_eq!(v["inf"], json!(".inf"));
        assert_eq!(v["nan"], json!(".nan"));
        assert_eq!(v["s1"], json!("yes"));
        assert_eq!(v["s2"], json!("42"));
        assert_eq!(v["s3"], json!("true"));
        assert_eq!(v["s4"], json!("v3.5.1"));
        assert_eq!(v["s5"], json!("1.2.3"));
        assert_eq!(v["1"], json!("one"));
        assert_eq!(v["true"], json!("yes"));
    }

    #[test]
    fn block_scalars_are_left_alone() {
        let doc = one("a: |\n  {{x}}\n  key: {{y}}\nb: >-\n  {{#if}}\nc: 1\n");
        assert_eq!(doc.value["a"], json!("{{x}}\nkey: {{y}}\n"));
        assert_eq!(doc.value["b"], json!("{{#if}}"));
        assert!(doc.recoveries.is_empty());
    }

    #[test]
    fn recovers_an_unquoted_template_value() {
        let doc = one("spec:\n  replicaCount: {{replicas}}\n  tag: {{image_tag}} # the tag\n");
        assert_eq!(doc.value["spec"]["replicaCount"], json!("{{replicas}}"));
        assert_eq!(doc.value["spec"]["tag"], json!("{{image_tag}}"));
        assert_eq!(
            doc.recoveries,
            vec![
                Recovery {
                    pointer: "/spec/replicaCount".into(),
                    pos: at(2, 17),
                    text: "{{replicas}}".into(),
                    kind: RecoveryKind::UnquotedTemplate,
                },
                Recovery {
                    pointer: "/spec/tag".into(),
                    pos: at(3, 8),
                    text: "{{image_tag}}".into(),
                    kind: RecoveryKind::UnquotedTemplate,
                },
            ]
        );
        assert_eq!(doc.values["/spec/tag"], at(3, 8));
    }

    #[test]
    fn recovers_a_template_that_is_not_even_a_flow_mapping() {
        let doc = one("image:\n  repository: {{registry}}/your-org/fastapi-agent\n");
        assert_eq!(
            doc.value["image"]["repository"],
            json!("{{registry}}/your-org/fastapi-agent")
        );
        assert_eq!(doc.recoveries[0].pointer, "/image/repository");
        assert_eq!(doc.recoveries[0].pos, at(2, 15));
    }

    #[test]
    fn templates_inside_plain_scalars_need_no_recovery() {
        let doc = one(
            "server: https://{{cluster}}.example.com\nname: fastapi-agent-{{name}}-{{registry}}\n",
        );
        assert_eq!(
            doc.value["server"],
            json!("https://{{cluster}}.example.com")
        );
        assert_eq!(
            doc.value["name"],
            json!("fastapi-agent-{{name}}-{{registry}}")
        );
        assert!(doc.recoveries.is_empty());
    }

    #[test]
    fn recovers_a_template_sequence_item_with_quotes() {
        let doc = one(
            "imagePullSecrets:\n  - {{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}\n  - it's {{x}}\n  - {{a}}'s\n",
        );
        assert_eq!(
            doc.value["imagePullSecrets"],
            json!([
                "{{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}",
                "it's {{x}}",
                "{{a}}'s"
            ])
        );
        assert_eq!(doc.recoveries.len(), 2);
        assert_eq!(doc.recoveries[0].pointer, "/imagePullSecrets/0");
        assert_eq!(doc.recoveries[0].pos, at(2, 5));
        assert_eq!(doc.recoveries[1].text, "{{a}}'s");
    }

    #[test]
    fn recovers_a_line_that_is_only_a_template() {
        let doc = one(concat!(
            "spec:\n",
            "  syncPolicy:\n",
            "    {{#if autoSync == \"true\"}}\n",
            "    automated: {prune: true}\n",
            "    {{/if}}\n",
            "  other: 1\n",
        ));
        assert_eq!(
            doc.value["spec"]["syncPolicy"],
            json!({"automated": {"prune": true}})
        );
        assert_eq!(doc.value["spec"]["other"], json!(1));
        assert_eq!(doc.recoveries.len(), 2);
        assert_eq!(doc.recoveries[0].pointer, "/spec/syncPolicy");
        assert_eq!(doc.recoveries[0].text, "{{#if autoSync == \"true\"}}");
        assert_eq!(doc.recoveries[0].pos, at(3, 5));
        assert_eq!(doc.recoveries[1].pointer, "/spec/syncPolicy");
        assert_eq!(doc.recoveries[1].text, "{{/if}}");
    }

    #[test]
    fn a_template_alone_under_a_key_is_its_value() {
        let doc = one(concat!(
            "values:\n",
            "  imagePullSecrets:\n",
            "    {{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}\n",
            "  resources: {}\n",
        ));
        assert_eq!(
            doc.value["values"]["imagePullSecrets"],
            json!("{{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}")
        );
        assert_eq!(doc.recoveries.len(), 1);
        assert_eq!(doc.recoveries[0].pointer, "/values/imagePullSecrets");
        assert_eq!(doc.recoveries[0].pos, at(3, 5));
    }

    #[test]
    fn template_line_recoveries_go_to_their_document() {
        let docs = parse("a: 1\n---\nb:\n  {{#x}}\n  c: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(docs[0].recoveries.is_empty());
        assert_eq!(docs[1].recoveries[0].pointer, "/b");
    }

    #[test]
    fn duplicate_keys_are_an_error_at_the_second() {
        let err = parse("a:\n  b: 1\n  c: 2\n  b: 3\n").unwrap_err();
        assert_eq!(err.pos, at(4, 3));
        assert_eq!(err.message, "duplicate key `b` (first at line 2)");
        // The same key in sibling mappings is fine.
        assert!(parse("- b: 1\n- b: 2\n").is_ok());
        assert!(parse("x: &a {b: 1}\ny: *a\n").is_ok());
    }

    #[test]
    fn absurd_nesting_is_an_error_not_a_crash() {
        let text = format!("{}x\n", "- ".repeat(10_000));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nesting"), "{err:?}");
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&text).is_err());
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let err = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
        let err = parse("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(err.pos.line, 2, "{err:?}");
        let err = parse("a: 1\n  b: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2, "{err:?}");
    }

    #[test]
    fn error_after_a_recovered_value_maps_back_to_the_original_column() {
        // The closing quote shifts the rest of the line by two columns.
        let err = parse("a: {{x}} # c\n  - b: ]\nc: ]\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
        let pre = recover::prepare("k: {{it's}} x\n");
        assert_eq!(pre.text, "k: '{{it''s}} x'\n");
        assert_eq!(pre.original_pos(1, 3), at(1, 4));
        assert_eq!(pre.original_pos(1, 17), at(1, 15));
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Cluster {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        kind_config: Option<String>,
        #[allow(dead_code)]
        replicas: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Provider {
        Kind,
        Kwok,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Spec {
        #[allow(dead_code)]
        clusters: Vec<Cluster>,
        #[allow(dead_code)]
        provider: Option<Provider>,
    }

    #[test]
    fn decode_unknown_field_points_at_the_key_with_a_suggestion() {
        let doc =
            one("spec:\n  clusters:\n    - name: a\n    - name: b\n      kindconfig: x.yaml\n");
        let err = decode::<Spec>(&doc, "/spec").unwrap_err();
        assert_eq!(err.pointer, "/spec/clusters/1/kindconfig");
        assert_eq!(err.pos, Some(at(5, 7)));
        assert_eq!(
            err.message,
            "unknown field `kindconfig` in `spec.clusters[1]`"
        );
        assert_eq!(err.suggestion.as_deref(), Some("kindConfig"));
    }

    #[test]
    fn decode_unknown_variant_lists_the_valid_ones() {
        let doc = one("clusters: []\nprovider: kwak\n");
        let err = decode::<Spec>(&doc, "").unwrap_err();
        assert_eq!(err.pointer, "/provider");
        assert_eq!(err.pos, Some(at(2, 11)));
        assert_eq!(
            err.message,
            "unknown variant `kwak` for `provider`, expected one of `kind`, `kwok`"
        );
        assert_eq!(err.suggestion.as_deref(), Some("kwok"));
        let doc = one("clusters: []\nprovider: minikube\n");
        let err = decode::<Spec>(&doc, "").unwrap_err();
        assert_eq!(err.suggestion, None);
    }

    #[test]
    fn decode_wrong_type_and_missing_field() {
        let doc = one("clusters:\n  - name: a\n    replicas: five\n");
        let err = decode::<Spec>(&doc, "").unwrap_err();
        assert_eq!(err.pointer, "/clusters/0/replicas");
        assert_eq!(err.pos, Some(at(3, 15)));
        assert_eq!(
            err.message,
            "invalid type for `clusters[0].replicas`: string \"five\", expected u32"
        );
        let doc = one("top:\n  clusters:\n    - kindConfig: x\n");
        let err = decode::<Spec>(&doc, "/top").unwrap_err();
        assert_eq!(err.pointer, "/top/clusters/0");
        assert_eq!(err.message, "missing field `name` in `top.clusters[0]`");
        assert_eq!(err.pos, Some(at(3, 7)));
        let err = decode::<Spec>(&doc, "/nowhere").unwrap_err();
        assert_eq!(err.message, "missing `nowhere`");
    }

    #[test]
    fn decode_reads_recovered_values_as_strings() {
        let doc = one("name: {{name}}\n");
        let err = decode::<Cluster>(&doc, "");
        assert!(err.is_ok());
    }

    #[test]
    fn closest_names() {
        let names = ["kindConfig".to_string(), "name".to_string()];
        assert_eq!(closest("kindconfig", &names).as_deref(), Some("kindConfig"));
        assert_eq!(closest("nmae", &names).as_deref(), Some("name"));
        assert_eq!(closest("zzzzzzzz", &names), None);
    }
}

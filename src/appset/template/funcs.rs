//! The functions Argo CD gives Go templates: Sprig (`GenericFuncMap` without
//! `env`, `expandenv`, `getHostByName`) and its own `normalize`, `slugify`,
//! `toYaml`, `fromYaml`, `fromYamlArray`. The commonly used Sprig functions
//! are here; the rest fail as undefined functions.
//!
//! Arguments come as in Go: a piped value is the last argument.

use base64::Engine;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::LazyLock;

use super::gofmt;
use super::gotext::value::Elem;
use super::gotext::{Value, go_quote};

/// A function's error: Go's text/template reports it as `error calling NAME: …`.
type FuncError = String;

/// A template function: the arguments (a piped value last), the result.
pub type Func = for<'a> fn(&[Value<'a>]) -> Result<Value<'a>, FuncError>;

/// Longest string a function may build (`repeat`, `indent`): a template that
/// asks for more is an error rather than an out-of-memory.
const MAX_OUTPUT: usize = 1 << 20;

pub const FUNCS: &[(&str, Func)] = &[
    ("default", default),
    ("empty", empty),
    ("coalesce", coalesce),
    ("ternary", ternary),
    ("quote", quote),
    ("squote", squote),
    ("upper", upper),
    ("lower", lower),
    ("title", title),
    ("trim", trim),
    ("trimAll", trim_all),
    ("trimPrefix", trim_prefix),
    ("trimSuffix", trim_suffix),
    ("nospace", nospace),
    ("replace", replace),
    ("contains", contains),
    ("hasPrefix", has_prefix),
    ("hasSuffix", has_suffix),
    ("split", split),
    ("splitList", split_list),
    ("join", join),
    ("cat", cat),
    ("list", list),
    ("first", first),
    ("last", last),
    ("has", has),
    ("uniq", uniq),
    ("sortAlpha", sort_alpha),
    ("dict", dict),
    ("get", get),
    ("dig", dig),
    ("slice", slice),
    ("hasKey", has_key),
    ("keys", keys),
    ("toJson", to_json_fn),
    ("toPrettyJson", to_pretty_json),
    ("toRawJson", to_raw_json),
    ("toString", to_string),
    ("int", int),
    ("int64", int64),
    ("atoi", atoi),
    ("float64", float64),
    ("add", add),
    ("add1", add1),
    ("sub", sub),
    ("mul", mul),
    ("div", div),
    ("mod", modulo),
    ("max", max),
    ("min", min),
    ("repeat", repeat),
    ("until", until),
    ("untilStep", until_step),
    ("substr", substr),
    ("trunc", trunc),
    ("b64enc", b64enc),
    ("b64dec", b64dec),
    ("sha256sum", sha256sum),
    ("regexMatch", regex_match),
    ("regexFind", regex_find),
    ("regexReplaceAll", regex_replace_all),
    ("regexReplaceAllLiteral", regex_replace_all_literal),
    ("indent", indent),
    ("nindent", nindent),
    ("fail", fail),
    ("normalize", normalize),
    ("slugify", slugify),
    ("toYaml", to_yaml),
    ("fromYaml", from_yaml),
    ("fromYamlArray", from_yaml_array),
];

/// The function called `name`.
pub fn lookup(name: &str) -> Option<Func> {
    static BY_NAME: LazyLock<HashMap<&'static str, Func>> =
        LazyLock::new(|| FUNCS.iter().copied().collect());
    BY_NAME.get(name).copied()
}

fn err(msg: impl Into<String>) -> FuncError {
    msg.into()
}

fn exactly(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

fn at_least(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        ))
    }
}

/// A `string` parameter of a Go function: anything else is a type error in Go.
fn string_arg(name: &str, v: &Value) -> Result<String, FuncError> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        Value::Missing | Value::Nil => Err(err(format!("{name}: invalid value; expected string"))),
        other => Err(err(format!(
            "{name}: wrong type for value; expected string; got {}",
            go_type(other)
        ))),
    }
}

/// An `int` parameter (Go converts untyped constants; a float value is refused).
fn int_arg(name: &str, v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) | Value::Int64(i) => return Ok(*i),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => return Ok(*f as i64),
        _ => {}
    }
    Err(err(format!(
        "{name}: wrong type for value; expected int; got {}",
        go_type(v)
    )))
}

fn go_type(v: &Value) -> &'static str {
    v.type_name()
}

/// Sprig's `strval`: `fmt.Sprintf("%v")` for non-strings.
fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Missing | Value::Nil => "<nil>".into(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => gofmt::float(*f),
        other => other.sprint(),
    }
}

/// `cast.ToInt64` as Sprig's arithmetic uses it: failures are 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Str(s) => parse_go_int(s.trim()).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 0)`: base prefixes, a leading `0` means octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = body.replace('_', "");
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h.to_string())
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, b.to_string())
        } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, o.to_string())
        } else if body.len() > 1 && body.starts_with('0') {
            (8, body[1..].to_string())
        } else {
            (10, body)
        };
    let n = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Missing | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Str(s) => s.is_empty(),
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        other => other.length() == Some(0),
    }
}

fn default<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    at_least("default", args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn empty<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

fn coalesce<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

fn ternary<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("ternary", args, 3)?;
    match &args[2] {
        Value::Bool(true) => Ok(args[0].clone()),
        Value::Bool(false) => Ok(args[1].clone()),
        other => Err(err(format!(
            "ternary: wrong type for value; expected bool; got {}",
            go_type(other)
        ))),
    }
}

fn quote<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Missing))
        .map(|v| go_quote(&strval(v)))
        .collect();
    Ok(Value::str(parts.join(" ")))
}

fn squote<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Missing))
        .map(|v| format!("'{}'", strval(v)))
        .collect();
    Ok(Value::str(parts.join(" ")))
}

fn one_str(name: &str, args: &[Value]) -> Result<String, FuncError> {
    exactly(name, args, 1)?;
    string_arg(name, &args[0])
}

fn upper<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(one_str("upper", args)?.to_uppercase()))
}

fn lower<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(one_str("lower", args)?.to_lowercase()))
}

/// Go's `strings.Title`: a letter after a separator is upper-cased.
fn title<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let s = one_str("title", args)?;
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    Ok(Value::str(out))
}

fn trim<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(one_str("trim", args)?.trim().to_string()))
}

fn nospace<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(
        one_str("nospace", args)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
    ))
}

fn two_str(name: &str, args: &[Value]) -> Result<(String, String), FuncError> {
    exactly(name, args, 2)?;
    Ok((string_arg(name, &args[0])?, string_arg(name, &args[1])?))
}

fn trim_all<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (cut, s) = two_str("trimAll", args)?;
    Ok(Value::str(s.trim_matches(|c| cut.contains(c)).to_string()))
}

fn trim_prefix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (p, s) = two_str("trimPrefix", args)?;
    Ok(Value::str(
        s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn trim_suffix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (p, s) = two_str("trimSuffix", args)?;
    Ok(Value::str(
        s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
    ))
}

fn replace<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("replace", args, 3)?;
    let old = string_arg("replace", &args[0])?;
    let new = string_arg("replace", &args[1])?;
    let src = string_arg("replace", &args[2])?;
    if old.is_empty() {
        // Go inserts `new` around every rune; keep it bounded.
        let mut out = new.clone();
        for c in src.chars() {
            out.push(c);
            out.push_str(&new);
            if out.len() > MAX_OUTPUT {
                return Err(err("replace: result too large"));
            }
        }
        return Ok(Value::str(out));
    }
    Ok(Value::str(src.replace(&old, &new)))
}

fn contains<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (sub, s) = two_str("contains", args)?;
    Ok(Value::Bool(s.contains(&sub)))
}

fn has_prefix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (p, s) = two_str("hasPrefix", args)?;
    Ok(Value::Bool(s.starts_with(&p)))
}

fn has_suffix<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (p, s) = two_str("hasSuffix", args)?;
    Ok(Value::Bool(s.ends_with(&p)))
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split(sep: &str, s: &str) -> Vec<String> {
    if sep.is_empty() {
        s.chars().map(String::from).collect()
    } else {
        s.split(sep).map(String::from).collect()
    }
}

fn split<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("split", args, 2)?;
    let sep = string_arg("split", &args[0])?;
    let s = strval(&args[1]);
    let map: BTreeMap<String, Value> = go_split(&sep, &s)
        .into_iter()
        .enumerate()
        .map(|(i, part)| (format!("_{i}"), Value::str(part)))
        .collect();
    Ok(Value::Map(Rc::new(map)))
}

fn split_list<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (sep, s) = two_str("splitList", args)?;
    Ok(Value::strings(go_split(&sep, &s)))
}

fn join<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("join", args, 2)?;
    let sep = string_arg("join", &args[0])?;
    let parts: Vec<String> = match &args[1] {
        v if v.is_list() => v
            .items()
            .unwrap_or_default()
            .iter()
            .filter(|v| !matches!(v, Value::Nil | Value::Missing))
            .map(strval)
            .collect(),
        Value::Nil | Value::Missing => vec![],
        other => vec![strval(other)],
    };
    Ok(Value::str(parts.join(&sep)))
}

fn cat<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil | Value::Missing))
        .map(strval)
        .collect();
    Ok(Value::str(parts.join(" ")))
}

fn list<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::List(Rc::new(args.to_vec())))
}

fn list_arg<'a>(name: &str, v: &Value<'a>) -> Result<Vec<Value<'a>>, FuncError> {
    match v.items() {
        Some(items) => Ok(items),
        None => Err(err(format!("Cannot find {name} on type {}", go_type(v)))),
    }
}

fn first<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("first", args, 1)?;
    Ok(list_arg("first", &args[0])?
        .into_iter()
        .next()
        .unwrap_or(Value::Nil))
}

fn last<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("last", args, 1)?;
    Ok(list_arg("last", &args[0])?.pop().unwrap_or(Value::Nil))
}

fn has<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("has", args, 2)?;
    let items = list_arg("has", &args[1])?;
    Ok(Value::Bool(items.iter().any(|i| i.deep_eq(&args[0]))))
}

fn uniq<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("uniq", args, 1)?;
    let mut out: Vec<Value> = Vec::new();
    for v in list_arg("uniq", &args[0])? {
        if !out.iter().any(|o| o.deep_eq(&v)) {
            out.push(v);
        }
    }
    Ok(Value::List(Rc::new(out)))
}

fn sort_alpha<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("sortAlpha", args, 1)?;
    let mut out: Vec<String> = match args[0].items() {
        Some(items) => items.iter().map(strval).collect(),
        None => vec![strval(&args[0])],
    };
    out.sort();
    Ok(Value::strings(out))
}

fn dict<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let mut map = BTreeMap::new();
    for pair in args.chunks(2) {
        let key = strval(&pair[0]);
        map.insert(
            key,
            pair.get(1).cloned().unwrap_or(Value::str(String::new())),
        );
    }
    Ok(Value::Map(Rc::new(map)))
}

fn map_arg<'a>(name: &str, v: &Value<'a>) -> Result<BTreeMap<String, Value<'a>>, FuncError> {
    match v.entries() {
        Some(m) => Ok(m.into_iter().collect()),
        None => Err(err(format!(
            "{name}: wrong type for value; expected map[string]interface {{}}; got {}",
            go_type(v)
        ))),
    }
}

fn get<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("get", args, 2)?;
    let map = map_arg("get", &args[0])?;
    let key = string_arg("get", &args[1])?;
    Ok(map.get(&key).cloned().unwrap_or(Value::str(String::new())))
}

/// Sprig's `dig KEY… DEFAULT DICT`: the value at the path of keys, or the
/// default from where a key is missing; a step that is not a map panics in
/// Go (a type assertion), reported as the call's error.
fn dig<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    if args.len() < 3 {
        return Err(err("dig needs at least three arguments"));
    }
    let (dict, rest) = args.split_last().unwrap_or((&args[0], &[]));
    let (default, keys) = rest.split_last().unwrap_or((&rest[0], &[]));
    let assert_map = |v: &Value<'a>| -> Result<(), FuncError> {
        if v.is_map() {
            Ok(())
        } else {
            Err(err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                if v.is_nil() { "nil" } else { v.type_name() }
            )))
        }
    };
    assert_map(dict)?;
    let mut path = Vec::with_capacity(keys.len());
    for k in keys {
        let Value::Str(k) = k else {
            return Err(err(format!(
                "interface conversion: interface {{}} is {}, not string",
                if k.is_nil() { "nil" } else { k.type_name() }
            )));
        };
        path.push(k);
    }
    let mut step = dict.clone();
    for k in path {
        assert_map(&step)?;
        match step.get(k) {
            Some(next) => step = next,
            None => return Ok(default.clone()),
        }
    }
    Ok(step)
}

/// Sprig's `slice LIST [START [END]]`, which replaces text/template's own
/// `slice` in Argo CD's function map: lists only, indexes converted as
/// Sprig converts numbers, an empty list gives nil, and indexes out of
/// bounds make Go's `reflect` panic.
fn slice<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    at_least("slice", args, 1)?;
    let list = &args[0];
    let Some(items) = list.items() else {
        if list.is_nil() {
            return Err(err(
                "runtime error: invalid memory address or nil pointer dereference",
            ));
        }
        let kind = match list {
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            _ => "map",
        };
        return Err(err(format!(
            "list should be type of slice or array but {kind}"
        )));
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map_or(0, to_i64);
    let end = args.get(2).map_or(items.len() as i64, to_i64);
    if start < 0 || end < start || end > items.len() as i64 {
        return Err(err("reflect.Value.Slice: slice index out of bounds"));
    }
    let part = Rc::new(items[start as usize..end as usize].to_vec());
    Ok(match list {
        Value::Typed(_, elem) => Value::Typed(part, *elem),
        _ => Value::List(part),
    })
}

fn has_key<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("hasKey", args, 2)?;
    let map = map_arg("hasKey", &args[0])?;
    let key = string_arg("hasKey", &args[1])?;
    Ok(Value::Bool(map.contains_key(&key)))
}

/// Sprig returns keys in map order (random in Go); sorted here.
fn keys<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let mut out: Vec<String> = Vec::new();
    for a in args {
        out.extend(map_arg("keys", a)?.keys().cloned());
    }
    out.sort();
    Ok(Value::strings(out))
}

/// `encoding/json`'s text of a float64: shortest digits, plain below 1e21
/// and from 1e-6, else `1e+21` / `1e-7` (a one-digit negative exponent
/// without its leading zero).
pub(crate) fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        // Rust prints the shortest digits that read back, never an exponent.
        format!("{f}")
    }
}

/// `json.Marshal` (`indent`: `json.MarshalIndent(v, "", "  ")`): maps
/// with sorted keys, Go's number texts, `<`, `>`, `&` escaped unless
/// `!escape_html` (an `Encoder` with `SetEscapeHTML(false)`).
pub(crate) fn go_json(v: &Value, indent: bool, escape_html: bool) -> String {
    let mut out = String::new();
    write_go_json(&mut out, v, indent, escape_html, 0);
    out
}

fn write_go_json(out: &mut String, v: &Value, indent: bool, escape_html: bool, depth: usize) {
    let newline = |out: &mut String, depth: usize| {
        if indent {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        }
    };
    if depth > super::MAX_DEPTH {
        out.push_str("null");
        return;
    }
    match v {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)),
        Value::Str(s) => write_go_json_string(out, s, escape_html),
        _ if v.is_list() => {
            let items = v.items().unwrap_or_default();
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_go_json(out, item, indent, escape_html, depth + 1);
            }
            if !items.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        _ => {
            let entries = v.entries().unwrap_or_default();
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_go_json_string(out, k, escape_html);
                out.push(':');
                if indent {
                    out.push(' ');
                }
                write_go_json(out, item, indent, escape_html, depth + 1);
            }
            if !entries.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
    }
}

/// `encoding/json`'s string: `\n`-style escapes for the usual controls,
/// `\u00XX` for the others, U+2028 and U+2029 always escaped.
fn write_go_json_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_json_fn<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("toJson", args, 1)?;
    Ok(Value::str(go_json(&args[0], false, true)))
}

fn to_raw_json<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("toRawJson", args, 1)?;
    Ok(Value::str(go_json(&args[0], false, false)))
}

fn to_pretty_json<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("toPrettyJson", args, 1)?;
    Ok(Value::str(go_json(&args[0], true, true)))
}

fn to_string<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("toString", args, 1)?;
    Ok(Value::str(strval(&args[0])))
}

fn int<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("int", args, 1)?;
    Ok(Value::Int(to_i64(&args[0])))
}

fn int64<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("int64", args, 1)?;
    Ok(Value::Int64(to_i64(&args[0])))
}

fn atoi<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let s = one_str("atoi", args)?;
    Ok(Value::Int(s.parse::<i64>().unwrap_or(0)))
}

fn float64<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("float64", args, 1)?;
    let f = match &args[0] {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    };
    Ok(Value::Float(f))
}

fn add<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::Int64(
        args.iter().fold(0i64, |a, v| a.wrapping_add(to_i64(v))),
    ))
}

fn add1<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("add1", args, 1)?;
    Ok(Value::Int64(to_i64(&args[0]).wrapping_add(1)))
}

fn sub<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("sub", args, 2)?;
    Ok(Value::Int64(
        to_i64(&args[0]).wrapping_sub(to_i64(&args[1])),
    ))
}

fn mul<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    at_least("mul", args, 1)?;
    Ok(Value::Int64(
        args.iter().fold(1i64, |a, v| a.wrapping_mul(to_i64(v))),
    ))
}

fn div<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("div", args, 2)?;
    to_i64(&args[0])
        .checked_div(to_i64(&args[1]))
        .map(Value::Int64)
        .ok_or_else(|| err("div: runtime error: integer divide by zero"))
}

fn modulo<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("mod", args, 2)?;
    to_i64(&args[0])
        .checked_rem(to_i64(&args[1]))
        .map(Value::Int64)
        .ok_or_else(|| err("mod: runtime error: integer divide by zero"))
}

fn max<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    at_least("max", args, 1)?;
    Ok(Value::Int64(args.iter().map(to_i64).max().unwrap_or(0)))
}

fn min<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    at_least("min", args, 1)?;
    Ok(Value::Int64(args.iter().map(to_i64).min().unwrap_or(0)))
}

fn repeat<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("repeat", args, 2)?;
    let n = int_arg("repeat", &args[0])?;
    let s = string_arg("repeat", &args[1])?;
    let n = usize::try_from(n).map_err(|_| err("repeat: negative Repeat count"))?;
    if s.len().saturating_mul(n) > MAX_OUTPUT {
        return Err(err("repeat: result too large"));
    }
    Ok(Value::str(s.repeat(n)))
}

/// Sprig's `until`: `0..count`, counting down for a negative count.
fn until<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("until", args, 1)?;
    let count = int_arg("until", &args[0])?;
    int_range("until", 0, count, if count < 0 { -1 } else { 1 })
}

/// Sprig's `untilStep`: `start` to `stop` (excluded) by `step`; empty when
/// the step points away from `stop`.
fn until_step<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("untilStep", args, 3)?;
    let start = int_arg("untilStep", &args[0])?;
    let stop = int_arg("untilStep", &args[1])?;
    let step = int_arg("untilStep", &args[2])?;
    int_range("untilStep", start, stop, step)
}

fn int_range<'a>(name: &str, start: i64, stop: i64, step: i64) -> Result<Value<'a>, FuncError> {
    let down = stop < start;
    if (down && step >= 0) || (!down && step <= 0) {
        return Ok(Value::Typed(Rc::new(Vec::new()), Elem::Int));
    }
    let count =
        (i128::from(stop) - i128::from(start)).unsigned_abs() / i128::from(step).unsigned_abs();
    if count > MAX_OUTPUT as u128 {
        return Err(err(format!("{name}: result too large")));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (down && i > stop) || (!down && i < stop) {
        out.push(Value::Int(i));
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(Value::Typed(Rc::new(out), Elem::Int))
}

/// Byte index `i` clamped to a character boundary of `s` (Go slices bytes).
fn boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn substr<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("substr", args, 3)?;
    let start = int_arg("substr", &args[0])?;
    let end = int_arg("substr", &args[1])?;
    let s = string_arg("substr", &args[2])?;
    let len = s.len() as i64;
    let (a, b) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if a > b || b > len || a > len || b < 0 {
        return Err(err(format!("substr: slice bounds out of range [{a}:{b}]")));
    }
    let (a, b) = (boundary(&s, a as usize), boundary(&s, b as usize));
    Ok(Value::str(s[a..b].to_string()))
}

fn trunc<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("trunc", args, 2)?;
    let c = int_arg("trunc", &args[0])?;
    let s = string_arg("trunc", &args[1])?;
    let len = s.len() as i64;
    let out = if c < 0 && len + c > 0 {
        &s[boundary(&s, (len + c) as usize)..]
    } else if c >= 0 && len > c {
        &s[..boundary(&s, c as usize)]
    } else {
        &s
    };
    Ok(Value::str(out.to_string()))
}

fn b64enc<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("b64enc", args, 1)?;
    Ok(Value::str(
        base64::engine::general_purpose::STANDARD.encode(strval(&args[0])),
    ))
}

fn b64dec<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("b64dec", args, 1)?;
    let s = strval(&args[0]);
    // Sprig returns the error text as the result.
    Ok(Value::str(
        match base64::engine::general_purpose::STANDARD.decode(s.as_bytes()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("illegal base64 data: {e}"),
        },
    ))
}

fn sha256sum<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let s = one_str("sha256sum", args)?;
    let digest = Sha256::digest(s.as_bytes());
    Ok(Value::str(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    ))
}

fn compile(name: &str, re: &str) -> Result<Regex, FuncError> {
    Regex::new(re).map_err(|e| err(format!("{name}: error parsing regexp: {e}")))
}

fn regex_match<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (re, s) = two_str("regexMatch", args)?;
    // Sprig's `regexMatch` answers false for an invalid expression.
    Ok(Value::Bool(Regex::new(&re).is_ok_and(|r| r.is_match(&s))))
}

fn regex_find<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let (re, s) = two_str("regexFind", args)?;
    let r = compile("regexFind", &re)?;
    Ok(Value::str(
        r.find(&s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    ))
}

fn regex_replace_all<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("regexReplaceAll", args, 3)?;
    let re = compile("regexReplaceAll", &string_arg("regexReplaceAll", &args[0])?)?;
    let s = string_arg("regexReplaceAll", &args[1])?;
    let repl = string_arg("regexReplaceAll", &args[2])?;
    Ok(Value::str(re.replace_all(&s, repl.as_str()).into_owned()))
}

fn regex_replace_all_literal<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("regexReplaceAllLiteral", args, 3)?;
    let re = compile(
        "regexReplaceAllLiteral",
        &string_arg("regexReplaceAllLiteral", &args[0])?,
    )?;
    let s = string_arg("regexReplaceAllLiteral", &args[1])?;
    let repl = string_arg("regexReplaceAllLiteral", &args[2])?;
    Ok(Value::str(
        re.replace_all(&s, regex::NoExpand(&repl)).into_owned(),
    ))
}

fn indent_str(name: &str, args: &[Value]) -> Result<String, FuncError> {
    exactly(name, args, 2)?;
    let n = usize::try_from(int_arg(name, &args[0])?).unwrap_or(0);
    let s = string_arg(name, &args[1])?;
    let lines = s.matches('\n').count() + 1;
    if n.saturating_mul(lines).saturating_add(s.len()) > MAX_OUTPUT {
        return Err(err(format!("{name}: result too large")));
    }
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

fn indent<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(indent_str("indent", args)?))
}

fn nindent<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(format!("\n{}", indent_str("nindent", args)?)))
}

fn fail<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let msg = one_str("fail", args)?;
    Err(err(msg))
}

/// Argo CD's `SanitizeName`: lowercase, `[^-a-z0-9.]` → `-`, at most 253
/// bytes, no leading or trailing `-` or `.`.
pub fn sanitize_name(name: &str) -> String {
    let lowered = name.to_lowercase();
    let mut out: String = lowered
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Every character is ASCII now, so byte truncation is safe.
    out.truncate(253);
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// Argo CD's `SlugifyName`: `SanitizeName`, then gosimple/slug (v1.15)
/// `Make` with the given maximum length (default 50) and smart truncation
/// (default on: cut at the last `-` before the limit).
pub fn slugify_name(name: &str, max_len: usize, smart: bool) -> String {
    let mut s = sanitize_name(name);
    if !smart && max_len > 0 && s.len() >= max_len {
        s.truncate(max_len);
    }
    // slug keeps [a-zA-Z0-9_-]; the `.` left by SanitizeName becomes `-`.
    let mut collapsed = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '-'
        };
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    let mut out = collapsed.trim_matches(|c| c == '-' || c == '_').to_string();
    if smart && max_len > 0 && out.len() > max_len {
        let bytes = out.as_bytes();
        let cut = (0..=max_len)
            .rev()
            .find(|&i| bytes.get(i) == Some(&b'-'))
            .unwrap_or(max_len);
        out.truncate(cut);
    }
    out
}

fn normalize<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    Ok(Value::str(sanitize_name(&one_str("normalize", args)?)))
}

fn slugify<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let mut max_len = 50usize;
    let mut smart = true;
    let mut name = String::new();
    for (i, a) in args.iter().enumerate() {
        if i + 1 == args.len() {
            name = string_arg("slugify", a)?;
        } else if i == 0 {
            max_len = usize::try_from(int_arg("slugify", a)?).unwrap_or(0);
        } else if i == 1 {
            match a {
                Value::Bool(b) => smart = *b,
                other => {
                    return Err(err(format!(
                        "slugify: expected bool; got {}",
                        go_type(other)
                    )));
                }
            }
        }
    }
    Ok(Value::str(slugify_name(&name, max_len, smart)))
}

/// `sigs.k8s.io/yaml.Marshal`: go-yaml v2 double-quotes a string that would
/// read back as another type (`"1.0"`, `"true"`, `"null"`); serde_yaml
/// single-quotes it. Such strings are swapped for placeholders, serialized,
/// and put back double-quoted.
fn to_yaml<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    exactly("toYaml", args, 1)?;
    let mut floats = Vec::new();
    let mut json = yaml_json(&args[0], &mut floats, 0);
    let mut ambiguous = Vec::new();
    hide_ambiguous(&mut json, &mut ambiguous, 0);
    let mut text = crate::yaml::to_string(&json);
    // Last first, so that `…Q1Z` does not match inside `…Q10Z`.
    for (i, s) in ambiguous.iter().enumerate().rev() {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        text = text.replace(&placeholder(i), &quoted);
    }
    for (i, f) in floats.iter().enumerate().rev() {
        text = text.replace(&float_placeholder(i), f);
    }
    Ok(Value::str(
        text.strip_suffix('\n').unwrap_or(&text).to_string(),
    ))
}

fn float_placeholder(i: usize) -> String {
    format!("GITOPSE2EFLOATQ{i}Z")
}

/// The value as `sigs.k8s.io/yaml` writes it: through `encoding/json` and
/// back through go-yaml v2, so a number whose JSON text is an integer that
/// fits 64 bits is an integer, and any other a float written as `%v` writes
/// it (`1e+21`, `1e-07`); those are left as placeholders in `floats`.
fn yaml_json(v: &Value, floats: &mut Vec<String>, depth: usize) -> serde_json::Value {
    use serde_json::Value as Json;
    if depth > super::MAX_DEPTH {
        return Json::Null;
    }
    match v {
        Value::Float(f) => {
            let text = go_json_float(*f);
            if let Ok(i) = text.parse::<i64>() {
                Json::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Json::from(u)
            } else {
                floats.push(gofmt::float(*f));
                Json::String(float_placeholder(floats.len() - 1))
            }
        }
        _ if v.is_list() => Json::Array(
            v.items()
                .unwrap_or_default()
                .iter()
                .map(|i| yaml_json(i, floats, depth + 1))
                .collect(),
        ),
        _ if v.is_map() => Json::Object(
            v.entries()
                .unwrap_or_default()
                .iter()
                .map(|(k, i)| (k.clone(), yaml_json(i, floats, depth + 1)))
                .collect(),
        ),
        other => other.to_json(depth),
    }
}

fn placeholder(i: usize) -> String {
    format!("GITOPSE2EAMBIGUOUSQ{i}Z")
}

fn hide_ambiguous(v: &mut serde_json::Value, found: &mut Vec<String>, depth: usize) {
    if depth > super::MAX_DEPTH {
        return;
    }
    match v {
        serde_json::Value::String(s) if resolves_to_non_string(s) => {
            let original = std::mem::replace(s, placeholder(found.len()));
            found.push(original);
        }
        serde_json::Value::Array(items) => {
            for item in items {
                hide_ambiguous(item, found, depth + 1);
            }
        }
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut item) in entries {
                hide_ambiguous(&mut item, found, depth + 1);
                let key = if resolves_to_non_string(&k) {
                    found.push(k);
                    placeholder(found.len() - 1)
                } else {
                    k
                };
                map.insert(key, item);
            }
        }
        _ => {}
    }
}

/// Whether go-yaml v2 resolves the plain scalar `s` to something other than a
/// string (YAML 1.1: null, bool incl. yes/no/on/off, int, float, timestamp,
/// base 60), so that it writes the string quoted.
fn resolves_to_non_string(s: &str) -> bool {
    !crate::yaml::go_yaml11_plain_is_string(s)
}

/// The first document of `text` (an empty text is YAML `null`).
fn parse_yaml(text: &str) -> Result<serde_json::Value, FuncError> {
    let docs = crate::yaml::parse_go_yaml(text).map_err(|e| {
        err(format!(
            "error converting YAML to JSON: {}",
            e.go_yaml_text()
        ))
    })?;
    Ok(docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(serde_json::Value::Null))
}

fn from_yaml<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let text = one_str("fromYaml", args)?;
    match parse_yaml(&text)? {
        serde_json::Value::Null => Ok(Value::Map(Rc::new(BTreeMap::new()))),
        v @ serde_json::Value::Object(_) => Ok(Value::from_owned_json(v, 0)),
        other => Err(err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go \
             value of type map[string]interface {{}}",
            json_kind(&other)
        ))),
    }
}

fn from_yaml_array<'a>(args: &[Value<'a>]) -> Result<Value<'a>, FuncError> {
    let text = one_str("fromYamlArray", args)?;
    match parse_yaml(&text)? {
        serde_json::Value::Null => Ok(Value::List(Rc::new(vec![]))),
        v @ serde_json::Value::Array(_) => Ok(Value::from_owned_json(v, 0)),
        other => Err(err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go \
             value of type []interface {{}}",
            json_kind(&other)
        ))),
    }
}

/// `encoding/json`'s name for the kind of a JSON value in its errors.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::template::go::render;
    use serde_json::{Map, json};

    fn r(t: &str) -> String {
        let params: Map<String, serde_json::Value> = json!({
            "name": "Dev Cluster", "empty": "", "n": 7, "labels": {"env": "prod"}, "segs": ["a", "b"]
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        render(t, &params, false).unwrap_or_else(|e| format!("ERR: {e}"))
    }

    #[test]
    fn sprig_default_empty_coalesce_ternary() {
        assert_eq!(r("{{ .empty | default \"x\" }}"), "x");
        assert_eq!(r("{{ .missing | default \"x\" }}"), "x");
        assert_eq!(r("{{ .name | default \"x\" }}"), "Dev Cluster");
        assert_eq!(r("{{ empty .empty }} {{ empty .name }}"), "true false");
        assert_eq!(r("{{ coalesce .empty .missing \"z\" }}"), "z");
        assert_eq!(
            r("{{ ternary \"a\" \"b\" true }}{{ true | ternary \"c\" \"d\" }}"),
            "ac"
        );
    }

    #[test]
    fn sprig_quote_escapes_as_go_percent_q() {
        // Sprig's quote is fmt.Sprintf("%q"): strconv.Quote's named escapes.
        assert_eq!(
            r("{{ quote \"a\\ab\\bc\\fd\\ve\\x01\\\"\" }}"),
            "\"a\\ab\\bc\\fd\\ve\\x01\\\"\""
        );
    }

    #[test]
    fn sprig_string_functions() {
        assert_eq!(
            r("{{ .name | upper }} {{ .name | lower }}"),
            "DEV CLUSTER dev cluster"
        );
        assert_eq!(r("{{ \"hello world\" | title }}"), "Hello World");
        assert_eq!(
            r("{{ quote .name }} {{ squote .name }}"),
            "\"Dev Cluster\" 'Dev Cluster'"
        );
        assert_eq!(
            r(
                "{{ trim \"  x \" }}|{{ trimPrefix \"v\" \"v1\" }}|{{ trimSuffix \".git\" \"r.git\" }}"
            ),
            "x|1|r"
        );
        assert_eq!(r("{{ replace \" \" \"-\" .name }}"), "Dev-Cluster");
        assert_eq!(
            r(
                "{{ contains \"Dev\" .name }} {{ hasPrefix \"Dev\" .name }} {{ hasSuffix \"x\" .name }}"
            ),
            "true true false"
        );
        assert_eq!(
            r(
                "{{ repeat 3 \"ab\" }}|{{ substr 0 3 .name }}|{{ trunc 3 .name }}|{{ trunc -3 .name }}"
            ),
            "ababab|Dev|Dev|ter"
        );
        assert_eq!(
            r("{{ indent 2 \"a\\nb\" }}|{{ nindent 2 \"a\" }}"),
            "  a\n  b|\n  a"
        );
    }

    #[test]
    fn sprig_string_function_on_missing_value_is_an_error_as_in_go() {
        assert!(r("{{ .missing | upper }}").starts_with("ERR"));
    }

    #[test]
    fn sprig_lists_and_dicts() {
        assert_eq!(r("{{ splitList \"-\" \"a-b-c\" | join \",\" }}"), "a,b,c");
        assert_eq!(r("{{ (split \"-\" \"a-b\")._1 }}"), "b");
        assert_eq!(r("{{ join \"/\" .segs }}"), "a/b");
        assert_eq!(r("{{ list 1 2 3 | len }}"), "3");
        assert_eq!(r("{{ get (dict \"a\" \"1\" \"b\" \"2\") \"b\" }}"), "2");
        assert_eq!(
            r("{{ hasKey .labels \"env\" }} {{ hasKey .labels \"x\" }}"),
            "true false"
        );
        assert_eq!(r("{{ keys (dict \"b\" 1 \"a\" 2) | join \",\" }}"), "a,b");
        assert_eq!(r("{{ toJson .labels }}"), "{\"env\":\"prod\"}");
        assert_eq!(
            r("{{ toJson (dict \"x\" \"<&>\") }}"),
            "{\"x\":\"\\u003c\\u0026\\u003e\"}"
        );
    }

    #[test]
    fn sprig_numbers() {
        assert_eq!(
            r("{{ add 1 2 .n }} {{ sub 10 .n }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }}"),
            "10 3 6 3 1"
        );
        assert_eq!(
            r("{{ max 1 9 3 }} {{ min 4 2 }} {{ atoi \"42\" }} {{ int \"12\" }} {{ toString .n }}"),
            "9 2 42 12 7"
        );
        assert!(r("{{ div 1 0 }}").starts_with("ERR"));
    }

    #[test]
    fn sprig_encoding_and_regex() {
        assert_eq!(r("{{ b64enc \"hi\" }} {{ b64dec \"aGk=\" }}"), "aGk= hi");
        assert_eq!(
            r("{{ sha256sum \"abc\" }}"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            r("{{ sha256sum \"\" }}"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(r("{{ regexMatch \"^D\" .name }}"), "true");
        assert_eq!(
            r("{{ regexReplaceAll \"[aeiou]\" \"banana\" \"_\" }}"),
            "b_n_n_"
        );
        assert_eq!(
            r("{{ regexReplaceAll \"(a)(n)\" \"banana\" \"$2$1\" }}"),
            "bnanaa"
        );
    }

    #[test]
    fn sprig_until_and_until_step() {
        assert_eq!(
            r("{{ until 3 }}|{{ until -2 }}|{{ until 0 }}"),
            "[0 1 2]|[0 -1]|[]"
        );
        assert_eq!(
            r("{{ untilStep 0 10 3 }}|{{ untilStep 5 0 -2 }}|{{ untilStep 0 5 -1 }}"),
            "[0 3 6 9]|[5 3 1]|[]"
        );
        assert_eq!(r("{{ range $i := until 3 }}{{ $i }}{{ end }}"), "012");
        assert!(r("{{ until 100000000 }}").contains("until: result too large"));
    }

    #[test]
    fn fail_is_an_error_and_required_is_helm_not_sprig() {
        assert!(r("{{ fail \"boom\" }}").contains("boom"));
        // Argo CD: `function "required" not defined` (Helm has it, Sprig does not).
        let e = r("{{ required \"need it\" .name }}");
        assert!(e.starts_with("ERR") && e.contains("required"), "{e}");
    }

    #[test]
    fn unsafe_sprig_functions_are_absent() {
        assert!(r("{{ env \"HOME\" }}").starts_with("ERR"));
    }

    #[test]
    fn normalize_follows_argocd_sanitize_name() {
        assert_eq!(sanitize_name("My_Cluster.Prod!"), "my-cluster.prod");
        assert_eq!(sanitize_name("--a--"), "a");
        assert_eq!(sanitize_name(&"x".repeat(300)).len(), 253);
        assert_eq!(r("{{ normalize .name }}"), "dev-cluster");
    }

    #[test]
    fn slugify_replaces_dots_collapses_dashes_and_smart_truncates() {
        assert_eq!(slugify_name("Hello.World__x", 50, true), "hello-world-x");
        assert_eq!(slugify_name("aaaa-bbbb-cccc", 10, true), "aaaa-bbbb");
        assert_eq!(slugify_name("aaaabbbbcccc", 10, true), "aaaabbbbcc");
        assert_eq!(slugify_name("aaaa-bbbb-cccc", 10, false), "aaaa-bbbb");
        assert_eq!(
            r("{{ slugify 5 false \"abcdefgh\" }} {{ slugify .name }}"),
            "abcde dev-cluster"
        );
    }

    #[test]
    fn to_yaml_renders_sorted_mapping_without_trailing_newline() {
        assert_eq!(r("{{ toYaml .labels }}"), "env: prod");
    }

    #[test]
    fn to_yaml_double_quotes_strings_that_read_as_other_types() {
        assert_eq!(
            r("{{ toYaml (dict \"tag\" \"1.0\" \"on\" \"yes\" \"n\" \"7\" \"s\" \"a: b\") }}"),
            "\"n\": \"7\"\n\"on\": \"yes\"\ns: 'a: b'\ntag: \"1.0\""
        );
    }

    #[test]
    fn from_yaml_parses_a_mapping() {
        assert_eq!(r("{{ (fromYaml \"a: b\").a }}"), "b");
        assert_eq!(r("{{ index (fromYamlArray \"[x, z]\") 1 }}"), "z");
    }

    #[test]
    fn from_yaml_reads_yaml_1_1_as_argo_cd_does() {
        // Go's sigs.k8s.io/yaml (go-yaml v2) gives these, checked with it.
        assert_eq!(
            r("{{ fromYamlArray \"[yes, No, ON, off, y, N, '1', 012, 0o12, 1.5e3, -.5, +.5]\" }}"),
            "[true false true false true false 1 10 10 1500 -0.5 0.5]"
        );
        assert_eq!(
            r(
                "{{ range $k, $v := fromYaml \"on: 1\\ny: 2\\n1.5: 3\\n10: 4\\ntrue: 6\\n1e3: 7\\n0x10: 8\" }}{{ $k }}={{ $v }};{{ end }}"
            ),
            "1.5=3;10=4;1000=7;16=8;true=6;"
        );
    }

    #[test]
    fn to_yaml_and_to_json_write_numbers_as_go_does() {
        assert_eq!(
            r("{{ toYaml (list 1.0 2.5 1e21 1e-7 0.000001 100000000000000000000.0) }}"),
            "- 1\n- 2.5\n- 1e+21\n- 1e-07\n- 1e-06\n- 1e+20"
        );
        assert_eq!(
            r("{{ toJson (list 1e6 1e20 1e21 1e-6 1e-7 -0.0 0.1) }}"),
            "[1000000,100000000000000000000,1e+21,0.000001,1e-7,-0,0.1]"
        );
        assert_eq!(
            r("{{ toJson \"<a&b> \\u2028\" }}|{{ toRawJson \"<a&b>\" }}"),
            "\"\\u003ca\\u0026b\\u003e \\u2028\"|\"<a&b>\""
        );
        assert_eq!(
            r("{{ toYaml (list \"2024-01-02\" \"2024-13-45\" \"12:30\" \"1e400\") }}"),
            "- \"2024-01-02\"\n- 2024-13-45\n- \"12:30\"\n- 1e400"
        );
    }

    #[test]
    fn sprig_functions_return_go_typed_values() {
        assert_eq!(
            r(
                "{{ printf \"%T %T %T %T %T %T\" (add 1 2) (int64 1) (int 1) (until 2) (splitList \",\" \"a\") (list) }}"
            ),
            "int64 int64 int []int []string []interface {}"
        );
    }

    #[test]
    fn sprig_slice_replaces_the_builtin() {
        assert_eq!(
            r("{{ slice (list 1 2 3) 1 }}|{{ slice (list 1 2 3) \"1\" 2.7 }}"),
            "[2 3]|[2]"
        );
        assert_eq!(r("{{ slice (list) }}"), "<no value>");
        assert!(
            r("{{ slice (list 1 2) 2 1 }}")
                .ends_with("error calling slice: reflect.Value.Slice: slice index out of bounds")
        );
        assert!(
            r("{{ slice \"abc\" 1 }}")
                .ends_with("error calling slice: list should be type of slice or array but string")
        );
    }

    #[test]
    fn sprig_dig_walks_maps_with_a_default() {
        let nested = "(dict \"a\" (dict \"b\" (dict \"c\" 1)))";
        assert_eq!(
            r(&format!(
                "{{{{ dig \"a\" \"b\" \"c\" \"none\" {nested} }}}}"
            )),
            "1"
        );
        assert_eq!(
            r(&format!("{{{{ dig \"a\" \"x\" \"none\" {nested} }}}}")),
            "none"
        );
        assert!(
            r(&format!(
                "{{{{ dig \"a\" \"b\" \"c\" \"d\" \"none\" {nested} }}}}"
            ))
            .ends_with(
                "error calling dig: interface conversion: interface {} is int, not \
                 map[string]interface {}"
            )
        );
    }
}

//! The values a template works on, as Go sees them: the parameters are a
//! `map[string]interface{}` decoded from JSON (numbers are `float64`),
//! functions may return `int`s, and a missing map key is Go's invalid
//! `reflect.Value` (printed `<no value>`).
//!
//! Arrays and objects of the parameters are borrowed, not copied: a template
//! usually reads a few fields of a large parameter set.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value as Json;

use crate::appset::template::gofmt;

/// Deepest value printed or converted; deeper parts print as `...`.
const MAX_DEPTH: usize = crate::appset::template::MAX_DEPTH;

#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Go's invalid `reflect.Value`: a missing map key.
    Missing,
    /// A nil interface (JSON `null`).
    Nil,
    Bool(bool),
    /// Go's `int` (constants, `len`, `int`, `atoi`).
    Int(i64),
    /// Go's `int64` (Sprig's arithmetic and `int64`): prints as an `int`,
    /// only its `%T` differs.
    Int64(i64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A `[]interface {}`.
    List(Rc<Vec<Value<'a>>>),
    /// A typed slice a function returns (`[]string`, `[]int`): its elements
    /// are not interfaces (`%#v`, `%T`).
    Typed(Rc<Vec<Value<'a>>>, Elem),
    Map(Rc<BTreeMap<String, Value<'a>>>),
    /// An array or object of the parameters.
    Json(&'a Json),
    /// The parameters themselves.
    Params(&'a serde_json::Map<String, Json>),
}

/// The element type of a [`Value::Typed`] slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    Str,
    Int,
}

impl<'a> Value<'a> {
    /// A `[]string`.
    pub fn strings(items: impl IntoIterator<Item = String>) -> Value<'static> {
        Value::Typed(
            Rc::new(items.into_iter().map(Value::str).collect()),
            Elem::Str,
        )
    }

    /// An integer of either Go type.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    pub fn str(s: impl Into<String>) -> Value<'static> {
        Value::Str(Cow::Owned(s.into()))
    }

    /// A parameter as Go holds it: every number a `float64`.
    pub fn from_json(v: &'a Json) -> Value<'a> {
        match v {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => Value::Str(Cow::Borrowed(s)),
            Json::Array(_) | Json::Object(_) => Value::Json(v),
        }
    }

    /// An owned JSON value (from `fromYaml`), numbers as `float64`.
    pub fn from_owned_json(v: Json, depth: usize) -> Value<'static> {
        if depth > MAX_DEPTH {
            return Value::Nil;
        }
        match v {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => Value::Str(Cow::Owned(s)),
            Json::Array(items) => Value::List(Rc::new(
                items
                    .into_iter()
                    .map(|i| Value::from_owned_json(i, depth + 1))
                    .collect(),
            )),
            Json::Object(map) => Value::Map(Rc::new(
                map.into_iter()
                    .map(|(k, i)| (k, Value::from_owned_json(i, depth + 1)))
                    .collect(),
            )),
        }
    }

    /// JSON for `toJson`/`toYaml`; maps with sorted keys (as Go encodes them).
    pub fn to_json(&self, depth: usize) -> Json {
        if depth > MAX_DEPTH {
            return Json::Null;
        }
        match self {
            Value::Missing | Value::Nil => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) | Value::Int64(i) => Json::from(*i),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Json::from(*f as i64)
                } else {
                    serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
                }
            }
            Value::Str(s) => Json::String(s.to_string()),
            Value::List(_)
            | Value::Typed(..)
            | Value::Map(_)
            | Value::Json(_)
            | Value::Params(_) => {
                if let Some(items) = self.items() {
                    Json::Array(items.iter().map(|i| i.to_json(depth + 1)).collect())
                } else {
                    let mut out = serde_json::Map::new();
                    for (k, v) in self.entries().unwrap_or_default() {
                        out.insert(k, v.to_json(depth + 1));
                    }
                    Json::Object(out)
                }
            }
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(
            self,
            Value::List(_) | Value::Typed(..) | Value::Json(Json::Array(_))
        )
    }

    pub fn is_map(&self) -> bool {
        matches!(
            self,
            Value::Map(_) | Value::Json(Json::Object(_)) | Value::Params(_)
        )
    }

    /// The elements of a list.
    pub fn items(&self) -> Option<Vec<Value<'a>>> {
        match self {
            Value::List(items) | Value::Typed(items, _) => Some(items.as_ref().clone()),
            Value::Json(Json::Array(items)) => Some(items.iter().map(Value::from_json).collect()),
            _ => None,
        }
    }

    /// Element `i` of a list.
    pub fn item(&self, i: usize) -> Option<Value<'a>> {
        match self {
            Value::List(items) | Value::Typed(items, _) => items.get(i).cloned(),
            Value::Json(Json::Array(items)) => items.get(i).map(Value::from_json),
            _ => None,
        }
    }

    /// The entries of a map, keys sorted (Go's `range` and `fmt` order).
    pub fn entries(&self) -> Option<Vec<(String, Value<'a>)>> {
        match self {
            Value::Map(m) => Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            _ if self.object().is_some() => {
                let m = self.object()?;
                let mut out: Vec<(String, Value<'a>)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Some(out)
            }
            _ => None,
        }
    }

    /// The parameters, or an object of them.
    fn object(&self) -> Option<&'a serde_json::Map<String, Json>> {
        match self {
            Value::Params(m) => Some(m),
            Value::Json(j) => j.as_object(),
            _ => None,
        }
    }

    /// The value at `key` of a map; `None` when the map has no such key.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        match self {
            Value::Map(m) => m.get(key).cloned(),
            _ => self.object()?.get(key).map(Value::from_json),
        }
    }

    /// Length of a string (bytes), list or map; `None` for other values.
    pub fn length(&self) -> Option<usize> {
        match self {
            Value::Str(s) => Some(s.len()),
            Value::List(items) | Value::Typed(items, _) => Some(items.len()),
            Value::Map(m) => Some(m.len()),
            Value::Json(Json::Array(items)) => Some(items.len()),
            Value::Params(m) => Some(m.len()),
            Value::Json(Json::Object(m)) => Some(m.len()),
            _ => None,
        }
    }

    /// Go's `%T` of the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Typed(_, Elem::Str) => "[]string",
            Value::Typed(_, Elem::Int) => "[]int",
            Value::List(_) | Value::Json(Json::Array(_)) => "[]interface {}",
            Value::Map(_) | Value::Json(_) | Value::Params(_) => "map[string]interface {}",
        }
    }

    /// text/template's truth: false, 0, empty and nil are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            other => other.length().unwrap_or(0) > 0,
        }
    }

    /// `reflect.DeepEqual` of two interface values.
    pub fn deep_eq(&self, other: &Value<'_>) -> bool {
        self.deep_eq_at(other, 0)
    }

    fn deep_eq_at(&self, other: &Value<'_>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match (self, other) {
            (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (a, b) if a.is_list() && b.is_list() && a.type_name() == b.type_name() => {
                let (x, y) = (a.items().unwrap_or_default(), b.items().unwrap_or_default());
                x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.deep_eq_at(q, depth + 1))
            }
            (a, b) if a.is_map() && b.is_map() => {
                let (x, y) = (
                    a.entries().unwrap_or_default(),
                    b.entries().unwrap_or_default(),
                );
                x.len() == y.len()
                    && x.iter()
                        .zip(&y)
                        .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.deep_eq_at(v2, depth + 1))
            }
            _ => false,
        }
    }

    /// `fmt.Sprint(v)`, as text/template prints an action's value.
    pub fn sprint(&self) -> String {
        let mut out = String::new();
        self.write_v(&mut out, 0);
        out
    }

    /// `%v`; nil prints `<nil>` (text/template prints a top-level nil or
    /// missing value as `<no value>` itself).
    pub fn write_v(&self, out: &mut String, depth: usize) {
        if depth > MAX_DEPTH {
            out.push_str("...");
            return;
        }
        match self {
            Value::Missing => out.push_str("<invalid reflect.Value>"),
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&gofmt::float(*f)),
            Value::Str(s) => out.push_str(s),
            Value::Json(Json::Array(_)) | Value::List(_) | Value::Typed(..) => {
                out.push('[');
                for (i, item) in self.items().unwrap_or_default().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_v(out, depth + 1);
                }
                out.push(']');
            }
            Value::Map(_) | Value::Json(_) | Value::Params(_) => {
                out.push_str("map[");
                for (i, (k, v)) in self.entries().unwrap_or_default().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_v(out, depth + 1);
                }
                out.push(']');
            }
        }
    }
}

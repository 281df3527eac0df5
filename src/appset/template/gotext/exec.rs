//! Go's `text/template` executor (`exec.go`), on a step and output budget.
//!
//! Every node walked, command evaluated, function called and `range`
//! iteration taken costs a step; every byte written counts against the
//! output budget. Either running out ends the execution with an error that
//! names the limit, so no template can run for long or fill memory.

use super::fmt as gofmt;
use super::parse::{Arg, Branch, Cmd, Node, Num, Pipe, Tree, arg_string, cmd_string};
use super::value::Value;
use crate::appset::template::funcs;

/// Deepest nesting of `template` calls, blocks and parenthesized pipelines
/// while executing (Go allows 100000 `template` calls). Each level costs
/// about 1.5 KiB of stack in a debug build: 300 stays well inside a 2 MiB
/// thread stack, so recursion is an error, never a stack overflow.
pub const MAX_EXEC_DEPTH: usize = 300;

/// Largest value (in elements) a function may build: a template that keeps
/// doubling a list is stopped before it fills memory.
const MAX_VALUE_ELEMENTS: usize = 1 << 20;

/// Deepest nesting of a value a function may build.
const MAX_VALUE_DEPTH: usize = crate::appset::template::MAX_DEPTH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Any execution error.
    Exec,
    /// `map has no entry for key` under `missingkey=error`.
    MissingKey,
    /// The step or output budget ran out.
    Limit,
}

#[derive(Debug, Clone)]
pub struct ExecError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Go's `missingkey` option: what a map index with no such key gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `default`/`invalid`: the invalid value (`<no value>`).
    #[default]
    Invalid,
    /// `zero`: the map's zero element, a nil `interface {}` (it prints
    /// `<no value>` too, but a field of it is a nil-pointer error).
    Zero,
    /// `error`: an execution error.
    Error,
}

pub struct Limits {
    pub max_steps: u64,
    pub max_output: usize,
}

type R<T> = Result<T, ExecError>;

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'t, 'a> {
    tree: &'t Tree,
    /// The name of the template being executed (Go's `executing "…"`).
    name: &'t str,
    tree_name: &'t str,
    vars: Vec<(&'t str, Value<'a>)>,
    out: String,
    steps: u64,
    limits: &'t Limits,
    depth: usize,
    missing_key: MissingKey,
}

/// Executes `tree` with `dot`.
pub fn execute<'a>(
    tree: &Tree,
    tree_name: &str,
    dot: Value<'a>,
    missing_key: MissingKey,
    limits: &Limits,
) -> R<String> {
    let mut s = State {
        tree,
        name: tree_name,
        tree_name,
        vars: vec![("$", dot.clone())],
        out: String::new(),
        steps: 0,
        limits,
        depth: 0,
        missing_key,
    };
    s.walk_list(&dot, &tree.root)?;
    Ok(s.out)
}

/// What a failing node is called in the message: `<.x>`, `<index .a 5>`.
enum At<'t> {
    Arg(&'t Arg),
    Cmd(&'t Cmd),
    Text(String),
}

impl<'t, 'a> State<'t, 'a> {
    fn error(&self, pos: usize, at: At<'_>, message: impl Into<String>) -> ExecError {
        self.error_kind(ErrorKind::Exec, pos, at, message)
    }

    fn error_kind(
        &self,
        kind: ErrorKind,
        pos: usize,
        at: At<'_>,
        message: impl Into<String>,
    ) -> ExecError {
        let (line, col) = self.tree.line_col(pos);
        let at = match at {
            At::Arg(a) => arg_string(a),
            At::Cmd(c) => cmd_string(c),
            At::Text(t) => t,
        };
        ExecError {
            kind,
            message: format!(
                "template: {}:{line}:{col}: executing {:?} at <{at}>: {}",
                self.tree_name,
                self.name,
                message.into()
            ),
        }
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(ExecError {
                kind: ErrorKind::Limit,
                message: format!(
                    "the template took more than {} steps (the render limit per field)",
                    self.limits.max_steps
                ),
            });
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > self.limits.max_output {
            return Err(self.output_limit());
        }
        self.out.push_str(s);
        Ok(())
    }

    fn output_limit(&self) -> ExecError {
        ExecError {
            kind: ErrorKind::Limit,
            message: format!(
                "the template's output passed {} bytes (the render limit per field)",
                self.limits.max_output
            ),
        }
    }

    fn walk_list(&mut self, dot: &Value<'a>, list: &'t [Node]) -> R<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value<'a>, node: &'t Node) -> R<Flow> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t).map(|()| Flow::Normal),
            Node::Action(pipe) => self.walk_action(dot, pipe),
            Node::If(b) => self.walk_if_with(dot, b, false),
            Node::With(b) => self.walk_if_with(dot, b, true),
            Node::Range(b) => self.walk_range(dot, b),
            Node::Break(_) => Ok(Flow::Break),
            Node::Continue(_) => Ok(Flow::Continue),
            Node::Template { pos, name, pipe } => {
                self.walk_template(dot, *pos, name, pipe.as_ref())
            }
        }
    }

    #[inline(never)]
    fn walk_action(&mut self, dot: &Value<'a>, pipe: &'t Pipe) -> R<Flow> {
        let v = self.eval_pipeline(dot, pipe)?;
        if pipe.decl.is_empty() {
            self.print(&v)?;
        }
        Ok(Flow::Normal)
    }

    #[inline(never)]
    fn walk_template(
        &mut self,
        dot: &Value<'a>,
        pos: usize,
        name: &'t str,
        pipe: Option<&'t Pipe>,
    ) -> R<Flow> {
        let tree: &'t Tree = self.tree;
        let Some((def_name, list)) = tree.defs.get_key_value(name) else {
            return Err(self.error(
                pos,
                At::Text(format!("{{{{template {name:?}}}}}")),
                format!("template {name:?} not defined"),
            ));
        };
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Missing,
        };
        self.enter(pos)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, def_name.as_str());
        let result = self.walk_list(&new_dot, list.as_slice());
        self.name = saved_name;
        self.vars = saved_vars;
        self.depth -= 1;
        result.map(|_| Flow::Normal)
    }

    fn enter(&mut self, pos: usize) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_EXEC_DEPTH {
            return Err(self.error(
                pos,
                At::Text("template".into()),
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        Ok(())
    }

    fn print(&mut self, v: &Value<'a>) -> R<()> {
        if v.is_nil() {
            return self.write("<no value>");
        }
        if let Value::Str(s) = v {
            return self.write(s);
        }
        let mut text = String::new();
        v.write_v(&mut text, 0);
        self.write(&text)
    }

    #[inline(never)]
    fn walk_if_with(&mut self, dot: &Value<'a>, b: &'t Branch, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        self.enter(b.pos)?;
        let flow = if v.truth() {
            if with {
                self.walk_list(&v, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(Flow::Normal)
        };
        self.depth -= 1;
        self.vars.truncate(mark);
        flow
    }

    #[inline(never)]
    fn walk_range(&mut self, dot: &Value<'a>, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline_value(dot, &b.pipe)?;
        // The declared variables: `$v` or `$i, $v`.
        for name in &b.pipe.decl {
            if !b.pipe.is_assign {
                self.vars.push((name.as_str(), Value::Missing));
            }
        }
        self.enter(b.pos)?;
        let body_mark = self.vars.len();
        let mut iterations: Vec<(Value<'a>, Value<'a>)> = Vec::new();
        let mut ran = false;
        let result = (|| -> R<()> {
            if let Some(items) = v.items() {
                iterations = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (Value::Int(i as i64), e))
                    .collect();
            } else if let Some(entries) = v.entries() {
                iterations = entries
                    .into_iter()
                    .map(|(k, e)| (Value::str(k), e))
                    .collect();
            } else if let Some(n) = v.as_int() {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(
                        b.pos,
                        At::Text(super::parse::pipe_string(&b.pipe)),
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                let n = n.max(0);
                if u64::try_from(n).unwrap_or(u64::MAX) > self.limits.max_steps {
                    return Err(self.step_limit());
                }
                let typed = |i: i64| match v {
                    Value::Int64(_) => Value::Int64(i),
                    _ => Value::Int(i),
                };
                iterations = (0..n).map(|i| (typed(i), typed(i))).collect();
            } else if !v.is_nil() {
                return Err(self.error(
                    b.pos,
                    At::Text(super::parse::pipe_string(&b.pipe)),
                    format!("range can't iterate over {}", v.sprint()),
                ));
            }
            Ok(())
        })();
        let flow = result.and_then(|()| {
            for (index, elem) in std::mem::take(&mut iterations) {
                ran = true;
                self.step()?;
                self.set_range_vars(b, mark, index, elem.clone())?;
                let flow = self.walk_list(&elem, &b.list);
                self.vars.truncate(body_mark);
                match flow? {
                    Flow::Break => break,
                    Flow::Continue | Flow::Normal => {}
                }
            }
            if !ran && let Some(else_list) = &b.else_list {
                self.walk_list(dot, else_list)?;
            }
            Ok(Flow::Normal)
        });
        self.depth -= 1;
        self.vars.truncate(mark);
        flow
    }

    fn step_limit(&self) -> ExecError {
        ExecError {
            kind: ErrorKind::Limit,
            message: format!(
                "the template took more than {} steps (the render limit per field)",
                self.limits.max_steps
            ),
        }
    }

    fn set_range_vars(
        &mut self,
        b: &'t Branch,
        mark: usize,
        index: Value<'a>,
        elem: Value<'a>,
    ) -> R<()> {
        let decl = &b.pipe.decl;
        if decl.is_empty() {
            return Ok(());
        }
        if b.pipe.is_assign {
            if decl.len() > 1 {
                self.set_var(&decl[0], index);
                self.set_var(&decl[1], elem);
            } else {
                self.set_var(&decl[0], elem);
            }
        } else if decl.len() > 1 {
            self.vars[mark].1 = index;
            self.vars[mark + 1].1 = elem;
        } else {
            self.vars[mark].1 = elem;
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value<'a> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map_or(Value::Missing, |(_, v)| v.clone())
    }

    /// A pipeline's value, declaring or assigning its variables.
    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'t Pipe) -> R<Value<'a>> {
        let v = self.eval_pipeline_value(dot, pipe)?;
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone());
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn eval_pipeline_value(&mut self, dot: &Value<'a>, pipe: &'t Pipe) -> R<Value<'a>> {
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // Go takes an `interface {}` result apart ("lovely!"): a nil one
            // becomes the invalid value, which a later field access does not
            // fail on.
            value = Some(match v {
                Value::Nil => Value::Missing,
                v => v,
            });
        }
        Ok(value.unwrap_or(Value::Missing))
    }

    fn not_a_function(&self, cmd: &'t Cmd, fin: &Option<Value<'a>>) -> R<()> {
        if cmd.args.len() > 1 || fin.is_some() {
            return Err(self.error(
                cmd.args[0].pos(),
                At::Arg(&cmd.args[0]),
                format!(
                    "can't give argument to non-function {}",
                    arg_string(&cmd.args[0])
                ),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'t Cmd,
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.step()?;
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match first {
            Arg::Field(pos, fields) => {
                self.eval_field_chain(dot.clone(), first, *pos, fields, has_args)
            }
            Arg::Chain(pos, node, fields) => {
                if let Arg::Nil(_) = **node {
                    return Err(self.error(
                        *pos,
                        At::Arg(first),
                        format!("indirection through explicit nil in {}", arg_string(first)),
                    ));
                }
                let receiver = self.eval_arg(dot, node)?;
                self.eval_field_chain(receiver, first, *pos, fields, has_args)
            }
            Arg::Ident(_, name) => self.eval_function(dot, name, cmd, fin),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &fin)?;
                self.enter(p.pos)?;
                let v = self.eval_pipeline_value(dot, p);
                self.depth -= 1;
                v
            }
            Arg::Variable(pos, name, fields) => {
                let v = self.var(name);
                if fields.is_empty() {
                    self.not_a_function(cmd, &fin)?;
                    return Ok(v);
                }
                self.eval_field_chain(v, first, *pos, fields, has_args)
            }
            Arg::Nil(pos) => {
                self.not_a_function(cmd, &fin)?;
                Err(self.error(*pos, At::Arg(first), "nil is not a command"))
            }
            Arg::Dot(_) => {
                self.not_a_function(cmd, &fin)?;
                Ok(dot.clone())
            }
            other => {
                self.not_a_function(cmd, &fin)?;
                self.constant(other)
            }
        }
    }

    fn constant(&self, a: &'t Arg) -> R<Value<'a>> {
        Ok(match a {
            Arg::Bool(_, b) => Value::Bool(*b),
            Arg::Number(_, _, Num::Int(i)) => Value::Int(*i),
            Arg::Number(_, _, Num::Float(f)) => Value::Float(*f),
            Arg::Str(_, _, s) => Value::Str(std::borrow::Cow::Owned(s.clone())),
            Arg::Nil(_) => Value::Nil,
            _ => Value::Missing,
        })
    }

    /// `.a.b.c` on `receiver`; only the last field may get arguments.
    fn eval_field_chain(
        &mut self,
        mut receiver: Value<'a>,
        node: &'t Arg,
        pos: usize,
        fields: &'t [String],
        has_args: bool,
    ) -> R<Value<'a>> {
        for (i, name) in fields.iter().enumerate() {
            let args = has_args && i + 1 == fields.len();
            // A field of a map element: Go's receiver is the element as an
            // `interface {}`, and errors name that type.
            receiver = self.eval_field(receiver, name, node, pos, args, i > 0)?;
        }
        Ok(receiver)
    }

    fn eval_field(
        &mut self,
        receiver: Value<'a>,
        name: &str,
        node: &'t Arg,
        pos: usize,
        has_args: bool,
        from_map: bool,
    ) -> R<Value<'a>> {
        match &receiver {
            Value::Missing => {
                if self.missing_key == MissingKey::Error {
                    return Err(self.error_kind(
                        ErrorKind::MissingKey,
                        pos,
                        At::Arg(node),
                        format!("nil data; no entry for key {name:?}"),
                    ));
                }
                Ok(Value::Missing)
            }
            Value::Nil => Err(self.error(
                pos,
                At::Arg(node),
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            r if r.is_map() => {
                if has_args {
                    return Err(self.error(
                        pos,
                        At::Arg(node),
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match r.get(name) {
                    Some(v) => Ok(v),
                    None if self.missing_key == MissingKey::Error => Err(self.error_kind(
                        ErrorKind::MissingKey,
                        pos,
                        At::Arg(node),
                        format!("map has no entry for key {name:?}"),
                    )),
                    None if self.missing_key == MissingKey::Zero => Ok(Value::Nil),
                    None => Ok(Value::Missing),
                }
            }
            r => Err(self.error(
                pos,
                At::Arg(node),
                format!(
                    "can't evaluate field {name} in type {}",
                    if from_map {
                        "interface {}"
                    } else {
                        r.type_name()
                    }
                ),
            )),
        }
    }

    /// An argument of a function.
    fn eval_arg(&mut self, dot: &Value<'a>, a: &'t Arg) -> R<Value<'a>> {
        self.step()?;
        match a {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Field(pos, fields) => self.eval_field_chain(dot.clone(), a, *pos, fields, false),
            Arg::Variable(pos, name, fields) => {
                let v = self.var(name);
                self.eval_field_chain(v, a, *pos, fields, false)
            }
            Arg::Pipe(p) => {
                self.enter(p.pos)?;
                let v = self.eval_pipeline_value(dot, p);
                self.depth -= 1;
                v
            }
            Arg::Ident(_, name) => self.eval_function_args(dot, name, a, &[], None),
            Arg::Chain(pos, node, fields) => {
                if let Arg::Nil(_) = **node {
                    return Err(self.error(
                        *pos,
                        At::Arg(a),
                        format!("indirection through explicit nil in {}", arg_string(a)),
                    ));
                }
                let receiver = self.eval_arg(dot, node)?;
                self.eval_field_chain(receiver, a, *pos, fields, false)
            }
            other => self.constant(other),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        cmd: &'t Cmd,
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let result = self.call(dot, name, &cmd.args[1..], fin);
        result.map_err(|e| match e {
            CallError::Exec(e) => e,
            CallError::Call(msg) => self.error(
                cmd.pos,
                At::Cmd(cmd),
                format!("error calling {name}: {msg}"),
            ),
            CallError::Args(msg) => self.error(cmd.pos, At::Cmd(cmd), msg),
        })
    }

    /// A function named as an argument (`printf "%s" upper`): called without arguments.
    fn eval_function_args(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.call(dot, name, args, fin).map_err(|e| match e {
            CallError::Exec(e) => e,
            CallError::Call(msg) => self.error(
                node.pos(),
                At::Arg(node),
                format!("error calling {name}: {msg}"),
            ),
            CallError::Args(msg) => self.error(node.pos(), At::Arg(node), msg),
        })
    }

    fn call(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> Result<Value<'a>, CallError> {
        self.step()?;
        let count = args.len() + usize::from(fin.is_some());
        // and/or evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            if count < 1 {
                return Err(CallError::Args(format!(
                    "wrong number of args for {name}: want at least 1 got 0"
                )));
            }
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut values = Vec::with_capacity(count);
        for a in args {
            values.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            values.push(f);
        }
        let result = match builtin(name, &values) {
            Some(r) => r,
            None => {
                let Some(f) = funcs::lookup(name) else {
                    return Err(CallError::Args(format!(
                        "{name:?} is not a defined function"
                    )));
                };
                // A missing value reaches a Go function as nil.
                for v in &mut values {
                    if matches!(v, Value::Missing) {
                        *v = Value::Nil;
                    }
                }
                f(&values)
            }
        };
        let v = result.map_err(CallError::Call)?;
        if too_large(&v) {
            return Err(CallError::Call(format!(
                "the result is larger than {MAX_VALUE_ELEMENTS} bytes or elements, or nested \
                 deeper than {MAX_VALUE_DEPTH} levels (the render limit per value)"
            )));
        }
        Ok(v)
    }
}

enum CallError {
    Exec(ExecError),
    /// The function returned an error: `error calling NAME: …`.
    Call(String),
    /// The call itself is wrong (arguments).
    Args(String),
}

impl From<ExecError> for CallError {
    fn from(e: ExecError) -> Self {
        CallError::Exec(e)
    }
}

/// Whether a function's result passes [`MAX_VALUE_ELEMENTS`] or nests
/// deeper than the renderer walks (a list put in a list in a loop): such a
/// value could not be printed, compared or even dropped safely.
fn too_large(v: &Value<'_>) -> bool {
    fn fits(v: &Value<'_>, budget: &mut usize, depth: usize) -> bool {
        let cost = match v {
            Value::Str(s) => s.len(),
            _ => 1,
        };
        if cost > *budget || depth > MAX_VALUE_DEPTH {
            return false;
        }
        *budget -= cost;
        match v {
            Value::List(items) | Value::Typed(items, _) => {
                items.iter().all(|i| fits(i, budget, depth + 1))
            }
            Value::Map(m) => m.values().all(|i| fits(i, budget, depth + 1)),
            _ => true,
        }
    }
    let mut budget = MAX_VALUE_ELEMENTS;
    !fits(v, &mut budget, 0)
}

/// text/template's builtins other than `and`/`or`; `None` for other names.
fn builtin<'a>(name: &str, args: &[Value<'a>]) -> Option<Result<Value<'a>, String>> {
    let want = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    let at_least = |n: usize| -> Result<(), String> {
        if args.len() >= n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want at least {n} got {}",
                args.len()
            ))
        }
    };
    Some(match name {
        "not" => want(1).map(|()| Value::Bool(!args[0].truth())),
        "len" => want(1).and_then(|()| match &args[0] {
            v if v.is_nil() => Err("len of nil pointer".into()),
            v => v
                .length()
                .map(|n| Value::Int(n as i64))
                .ok_or_else(|| format!("len of type {}", v.type_name())),
        }),
        "index" => at_least(1).and_then(|()| index(&args[0], &args[1..])),
        "eq" => at_least(1).and_then(|()| eq(&args[0], &args[1..]).map(Value::Bool)),
        "ne" => want(2).and_then(|()| eq(&args[0], &args[1..]).map(|b| Value::Bool(!b))),
        "lt" => want(2).and_then(|()| less(&args[0], &args[1]).map(Value::Bool)),
        "le" => want(2).and_then(|()| le(&args[0], &args[1]).map(Value::Bool)),
        "gt" => want(2).and_then(|()| le(&args[0], &args[1]).map(|b| Value::Bool(!b))),
        "ge" => want(2).and_then(|()| less(&args[0], &args[1]).map(|b| Value::Bool(!b))),
        "print" => Ok(Value::str(gofmt::sprint(&nil_args(args)))),
        "println" => Ok(Value::str(gofmt::sprintln(&nil_args(args)))),
        "printf" => at_least(1).and_then(|()| match &args[0] {
            Value::Str(f) => Ok(Value::str(gofmt::sprintf(f, &nil_args(&args[1..])))),
            other => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
        }),
        "html" => Ok(Value::str(gofmt::html_escape(&eval_args(args)))),
        "js" => Ok(Value::str(gofmt::js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::str(gofmt::url_query_escape(&eval_args(args)))),
        "call" => Err("call is not supported by the offline renderer".into()),
        _ => return None,
    })
}

fn nil_args<'a>(args: &[Value<'a>]) -> Vec<Value<'a>> {
    args.iter()
        .map(|v| if v.is_nil() { Value::Nil } else { v.clone() })
        .collect()
}

/// text/template's `evalArgs`: one string as is, anything else `fmt.Sprint`.
fn eval_args(args: &[Value<'_>]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    gofmt::sprint(&nil_args(args))
}

fn index_arg(i: &Value<'_>, len: usize) -> Result<usize, String> {
    let x = match i {
        Value::Int(x) | Value::Int64(x) => *x,
        v if v.is_nil() => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > len as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'a>(item: &Value<'a>, indexes: &[Value<'a>]) -> Result<Value<'a>, String> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in indexes {
        if item.is_nil() {
            return Err("index of nil pointer".into());
        }
        if let Value::Str(s) = &item {
            let x = index_arg(i, s.len())?;
            if x == s.len() {
                return Err(format!("index out of range: {x}"));
            }
            item = Value::Int(i64::from(s.as_bytes()[x]));
        } else if item.is_list() {
            let len = item.length().unwrap_or(0);
            let x = index_arg(i, len)?;
            if x == len {
                return Err(format!("index out of range: {x}"));
            }
            item = item.item(x).unwrap_or(Value::Nil);
        } else if item.is_map() {
            let Value::Str(k) = i else {
                return Err(format!(
                    "value has type {}; should be string",
                    if i.is_nil() { "<nil>" } else { i.type_name() }
                ));
            };
            item = item.get(k).unwrap_or(Value::Nil);
        } else {
            return Err(format!("can't index item of type {}", item.type_name()));
        }
    }
    Ok(item)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Basic {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn basic(v: &Value<'_>) -> Basic {
    match v {
        Value::Missing | Value::Nil => Basic::Invalid,
        Value::Bool(_) => Basic::Bool,
        Value::Int(_) | Value::Int64(_) => Basic::Int,
        Value::Float(_) => Basic::Float,
        Value::Str(_) => Basic::Str,
        _ => Basic::Other,
    }
}

fn eq(a: &Value<'_>, others: &[Value<'_>]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic(a);
    for b in others {
        let k2 = basic(b);
        let truth = if k1 != k2 {
            if k1 != Basic::Invalid && k2 != Basic::Invalid {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (x, y) if k1 == Basic::Int => x.as_int() == y.as_int(),
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                _ if k1 == Basic::Invalid => true,
                _ => {
                    return Err(format!(
                        "non-comparable type {}: {}",
                        b.sprint(),
                        b.type_name()
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn less(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let (k1, k2) = (basic(a), basic(b));
    if matches!(k1, Basic::Invalid | Basic::Other | Basic::Bool)
        || matches!(k2, Basic::Invalid | Basic::Other | Basic::Bool)
    {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (x, y) if k1 == Basic::Int => x.as_int() < y.as_int(),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => false,
    })
}

fn le(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    Ok(less(a, b)? || eq(a, std::slice::from_ref(b))?)
}

//! Go's `text/template/parse` parser: the same grammar, the same checks at
//! parse time (undefined functions and variables, `break` outside `range`,
//! empty pipelines) and the same messages. Nesting of blocks and
//! parentheses is bounded, so hostile input cannot overflow the stack.

use std::collections::HashMap;
use std::rc::Rc;

use super::lex::{Item, Kind, lex};
use crate::appset::template::golit;

/// Deepest nesting of blocks (`if`, `range`, `with`, …) and parentheses.
pub const MAX_NESTING: usize = 100;

#[derive(Debug)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Break(usize),
    Continue(usize),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
}

#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy)]
pub enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Debug)]
pub enum Arg {
    /// `.a.b`
    Field(usize, Vec<String>),
    /// `$x.a.b`: the variable then its fields.
    Variable(usize, String, Vec<String>),
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, String, Num),
    /// Position, the text as written, the value.
    Str(usize, String, String),
    /// A function name.
    Ident(usize, String),
    /// A parenthesized pipeline.
    Pipe(Box<Pipe>),
    /// `(x).a.b`
    Chain(usize, Box<Arg>, Vec<String>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field(p, _)
            | Arg::Variable(p, _, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _, _)
            | Arg::Str(p, _, _)
            | Arg::Ident(p, _)
            | Arg::Chain(p, _, _) => *p,
            Arg::Pipe(pipe) => pipe.pos,
        }
    }
}

/// A parsed template: its main list and the templates it defines.
#[derive(Debug, Default)]
pub struct Tree {
    pub text: String,
    pub root: Vec<Node>,
    pub defs: HashMap<String, Rc<Vec<Node>>>,
}

impl Tree {
    /// `(line, column)` of a byte offset, as Go's `ErrorContext` counts them.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = before.rfind('\n').map_or(pos, |nl| pos - nl - 1);
        (line, col)
    }
}

/// A parse error, worded as Go's `template: NAME:LINE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

struct Parser<'f> {
    name: &'f str,
    text: String,
    items: Vec<Item>,
    at: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defs: HashMap<String, Rc<Vec<Node>>>,
    has_func: &'f dyn Fn(&str) -> bool,
}

type P<T> = Result<T, ParseError>;

/// Parses `text`; `has_func` says which function names exist.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> P<Tree> {
    let mut p = Parser {
        name,
        text: text.to_string(),
        items: lex(text),
        at: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        defs: HashMap::new(),
        has_func,
    };
    let mut root = Vec::new();
    while p.peek().kind != Kind::Eof {
        if p.peek().kind == Kind::LeftDelim {
            let mark = p.at;
            p.next();
            if p.next_non_space().kind == Kind::Keyword("define") {
                p.definition()?;
                continue;
            }
            p.at = mark;
        }
        match p.text_or_action()? {
            Parsed::End => return Err(p.error("unexpected {{end}}")),
            Parsed::Else => return Err(p.error("unexpected {{else}}")),
            Parsed::Node(n) => root.push(n),
        }
    }
    Ok(Tree {
        text: p.text,
        root,
        defs: p.defs,
    })
}

enum Parsed {
    Node(Node),
    End,
    Else,
}

impl Parser<'_> {
    fn peek(&self) -> &Item {
        &self.items[self.at.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let item = self.peek().clone();
        self.at += 1;
        item
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next();
            if item.kind != Kind::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.at -= 1;
        item
    }

    fn backup(&mut self) {
        self.at -= 1;
    }

    fn line_of(&self, pos: usize) -> usize {
        1 + self.text[..pos.min(self.text.len())].matches('\n').count()
    }

    fn error(&self, message: impl std::fmt::Display) -> ParseError {
        let idx = self.at.saturating_sub(1).min(self.items.len() - 1);
        let line = self.line_of(self.items[idx].pos);
        ParseError(format!("template: {}:{line}: {message}", self.name))
    }

    fn unexpected(&self, item: &Item, context: &str) -> ParseError {
        if item.kind == Kind::Error {
            return ParseError(format!(
                "template: {}:{}: {}",
                self.name,
                self.line_of(item.pos),
                item.val
            ));
        }
        self.error(format!("unexpected {} in {context}", describe(item)))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> P<Item> {
        let item = self.next_non_space();
        if item.kind != kind {
            return Err(self.unexpected(&item, context));
        }
        Ok(item)
    }

    fn enter(&mut self) -> P<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error(format!(
                "blocks and parentheses nested deeper than {MAX_NESTING} levels"
            )));
        }
        Ok(())
    }

    /// `{{define "name"}} ... {{end}}` (the `define` is read).
    fn definition(&mut self) -> P<()> {
        let name = self.expect_name("define clause")?;
        self.expect(Kind::RightDelim, "define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if !matches!(end, Parsed::End) {
            return Err(self.error("unexpected {{else}} in define clause"));
        }
        self.add_def(name, list);
        Ok(())
    }

    fn add_def(&mut self, name: String, list: Vec<Node>) {
        // Go keeps an existing non-empty definition over an empty one.
        let empty = list
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()));
        if empty && self.defs.contains_key(&name) {
            return;
        }
        self.defs.insert(name, Rc::new(list));
    }

    fn expect_name(&mut self, context: &str) -> P<String> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Str | Kind::RawStr => self.unquote(&item),
            _ => Err(self.unexpected(&item, context)),
        }
    }

    fn unquote(&self, item: &Item) -> P<String> {
        golit::unquote(&item.val).map_err(|e| self.error(e))
    }

    fn item_list(&mut self) -> P<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.error("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> P<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(item.val))),
            Kind::LeftDelim => self.action(),
            _ => Err(self.unexpected(&item, "input")),
        }
    }

    fn action(&mut self) -> P<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Keyword("block") => return self.block().map(Parsed::Node),
            Kind::Keyword("break") => {
                if self.range_depth == 0 {
                    return Err(self.error("{{break}} outside {{range}}"));
                }
                let t = self.next_non_space();
                if t.kind != Kind::RightDelim {
                    return Err(self.unexpected(&t, "{{break}}"));
                }
                return Ok(Parsed::Node(Node::Break(item.pos)));
            }
            Kind::Keyword("continue") => {
                if self.range_depth == 0 {
                    return Err(self.error("{{continue}} outside {{range}}"));
                }
                let t = self.next_non_space();
                if t.kind != Kind::RightDelim {
                    return Err(self.unexpected(&t, "{{continue}}"));
                }
                return Ok(Parsed::Node(Node::Continue(item.pos)));
            }
            Kind::Keyword("else") => {
                let peek = self.peek_non_space();
                if matches!(peek.kind, Kind::Keyword("if" | "with")) {
                    return Ok(Parsed::Else);
                }
                self.expect(Kind::RightDelim, "else")?;
                return Ok(Parsed::Else);
            }
            Kind::Keyword("end") => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Kind::Keyword("if") => return self.control("if").map(|b| Parsed::Node(Node::If(b))),
            Kind::Keyword("range") => {
                return self.control("range").map(|b| Parsed::Node(Node::Range(b)));
            }
            Kind::Keyword("with") => {
                return self.control("with").map(|b| Parsed::Node(Node::With(b)));
            }
            Kind::Keyword("template") => return self.template_call().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &'static str) -> P<Branch> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else = next {
            let peek = self.peek_non_space();
            if (context == "if" && peek.kind == Kind::Keyword("if"))
                || (context == "with" && peek.kind == Kind::Keyword("with"))
            {
                self.next_non_space();
                let nested = self.control(context)?;
                else_list = Some(vec![if context == "if" {
                    Node::If(nested)
                } else {
                    Node::With(nested)
                }]);
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return Err(self.error("expected end; found {{else}}"));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_call(&mut self) -> P<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = match t.kind {
            Kind::Str | Kind::RawStr => self.unquote(&t)?,
            _ => return Err(self.unexpected(&t, context)),
        };
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Kind::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    /// `{{block "name" pipeline}} T1 {{end}}`: a definition and a call.
    fn block(&mut self) -> P<Node> {
        let context = "block clause";
        self.enter()?;
        let t = self.next_non_space();
        let name = match t.kind {
            Kind::Str | Kind::RawStr => self.unquote(&t)?,
            _ => return Err(self.unexpected(&t, context)),
        };
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::take(&mut self.range_depth);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_range;
        if !matches!(end, Parsed::End) {
            return Err(self.error("unexpected {{else}} in block clause"));
        }
        self.add_def(name.clone(), list);
        self.depth -= 1;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> P<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let mark = self.at;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(&v.val) {
                        return Err(self.error(format!("undefined variable {:?}", v.val)));
                    }
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        if matches!(p.kind, Kind::Variable | Kind::RightDelim | Kind::RightParen) {
                            continue;
                        }
                        return Err(self.error("range can only initialize variables"));
                    }
                    return Err(self.error(format!("too many declarations in {context}")));
                }
                _ => {
                    self.at = mark;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                if pipe.cmds.is_empty() {
                    return Err(self.error(format!("missing value for {context}")));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
                    ) {
                        return Err(self.error(format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        )));
                    }
                }
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConst
                | Kind::Dot
                | Kind::Field
                | Kind::Ident
                | Kind::Number
                | Kind::Nil
                | Kind::RawStr
                | Kind::Str
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn command(&mut self) -> P<Cmd> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.error("empty command"));
        }
        Ok(Cmd { pos, args })
    }

    fn operand(&mut self) -> P<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        // Go rebuilds a chained field or variable at the chain's position
        // (its second part), which execution errors then name.
        Ok(Some(match node {
            Arg::Field(_, mut f) => {
                f.extend(fields);
                Arg::Field(chain_pos, f)
            }
            Arg::Variable(_, name, mut f) => {
                f.extend(fields);
                Arg::Variable(chain_pos, name, f)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.error(format!("unexpected . after term {:?}", arg_string(&node))));
            }
            other => Arg::Chain(chain_pos, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> P<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.kind {
            Kind::Ident => {
                if !(self.has_func)(&t.val) {
                    return Err(self.error(format!("function {:?} not defined", t.val)));
                }
                Arg::Ident(t.pos, t.val)
            }
            Kind::Dot => Arg::Dot(t.pos),
            Kind::Nil => Arg::Nil(t.pos),
            Kind::Variable => {
                if !self.vars.contains(&t.val) {
                    return Err(self.error(format!("undefined variable {:?}", t.val)));
                }
                Arg::Variable(t.pos, t.val, Vec::new())
            }
            Kind::Field => Arg::Field(t.pos, vec![t.val[1..].to_string()]),
            Kind::Bool => Arg::Bool(t.pos, t.val == "true"),
            Kind::Number | Kind::CharConst => {
                let n = self.number(&t)?;
                Arg::Number(t.pos, t.val, n)
            }
            Kind::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", Kind::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            Kind::Str | Kind::RawStr => {
                let s = self.unquote(&t)?;
                Arg::Str(t.pos, t.val, s)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, t: &Item) -> P<Num> {
        if t.kind == Kind::CharConst {
            let s = golit::unquote(&t.val).map_err(|e| self.error(e))?;
            return Ok(Num::Int(s.chars().next().map_or(0, |c| c as i64)));
        }
        golit::check_number(&t.val).map_err(|e| self.error(e))?;
        if t.val.ends_with('i') {
            return Err(self.error(format!(
                "complex constant {:?}: complex numbers are not supported by the offline renderer",
                t.val
            )));
        }
        golit::number_value(&t.val)
            .map(|(int, float)| match int {
                Some(i) if !looks_float(&t.val) => Num::Int(i),
                _ => Num::Float(float),
            })
            .ok_or_else(|| self.error(format!("illegal number syntax: {:?}", t.val)))
    }
}

/// Go's `idealConstant` takes a constant written with `.`, an exponent or a
/// `p` as a float (unless it is a hexadecimal integer).
fn looks_float(text: &str) -> bool {
    let hex = text.trim_start_matches(['+', '-']).starts_with("0x")
        || text.trim_start_matches(['+', '-']).starts_with("0X");
    if hex {
        text.contains(['.', 'p', 'P'])
    } else {
        text.contains(['.', 'e', 'E'])
    }
}

/// Go's `item.String()` in an "unexpected" message.
fn describe(item: &Item) -> String {
    match item.kind {
        Kind::Eof => "EOF".into(),
        Kind::Error => item.val.clone(),
        Kind::Keyword(k) => format!("<{k}>"),
        Kind::LeftDelim | Kind::RightDelim => format!("{:?}", item.val),
        _ if item.val.chars().count() > 10 => {
            let short: String = item.val.chars().take(10).collect();
            format!("{short:?}...")
        }
        _ => format!("{:?}", item.val),
    }
}

/// A node as Go's `String()` writes it (in `executing … at <…>`).
pub fn arg_string(a: &Arg) -> String {
    let fields = |f: &[String]| f.iter().map(|s| format!(".{s}")).collect::<String>();
    match a {
        Arg::Field(_, f) => fields(f),
        Arg::Variable(_, name, f) => format!("{name}{}", fields(f)),
        Arg::Dot(_) => ".".into(),
        Arg::Nil(_) => "nil".into(),
        Arg::Bool(_, b) => b.to_string(),
        Arg::Number(_, text, _) | Arg::Str(_, text, _) => text.clone(),
        Arg::Ident(_, name) => name.clone(),
        Arg::Pipe(p) => format!("({})", pipe_string(p)),
        Arg::Chain(_, node, f) => format!("{}{}", arg_string(node), fields(f)),
    }
}

pub fn cmd_string(c: &Cmd) -> String {
    c.args.iter().map(arg_string).collect::<Vec<_>>().join(" ")
}

pub fn pipe_string(p: &Pipe) -> String {
    let mut out = String::new();
    if !p.decl.is_empty() {
        out.push_str(&p.decl.join(", "));
        out.push_str(if p.is_assign { " = " } else { " := " });
    }
    out.push_str(
        &p.cmds
            .iter()
            .map(cmd_string)
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out
}

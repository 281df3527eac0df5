//! Go's `text/template/parse` lexer, run to completion in one pass (Go runs
//! it on a goroutine; here it simply fills a vector). A lexing error ends
//! the items with an `Error` item, which the parser reports when it reaches
//! it, so errors come out in Go's order.

use crate::appset::template::golit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    /// `=`
    Assign,
    /// `:=`
    Declare,
    Pipe,
    /// A quoted string, `val` is the text with its quotes.
    Str,
    RawStr,
    CharConst,
    Number,
    Bool,
    Nil,
    Dot,
    /// `.name` (one field; a chain is several).
    Field,
    /// `$` or `$name`.
    Variable,
    Ident,
    LeftParen,
    RightParen,
    /// Any other printable character, such as `,`.
    Char,
    Keyword(&'static str),
    Eof,
    Error,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub kind: Kind,
    /// Byte offset in the template.
    pub pos: usize,
    pub val: String,
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'s> {
    input: &'s str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    paren_depth: usize,
}

/// The items of `input`, ending with `Eof` or `Error`.
pub fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        items: Vec::new(),
        paren_depth: 0,
    };
    if let Err(message) = l.run() {
        l.items.push(Item {
            kind: Kind::Error,
            pos: l.start,
            val: message,
        });
    } else {
        l.items.push(Item {
            kind: Kind::Eof,
            pos: input.len(),
            val: String::new(),
        });
    }
    l.items
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn emit(&mut self, kind: Kind) {
        self.items.push(Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
        });
        self.start = self.pos;
    }

    fn run(&mut self) -> Result<(), String> {
        loop {
            // Text up to the next action.
            let Some(open) = self.rest().find("{{") else {
                self.pos = self.input.len();
                if self.pos > self.start {
                    self.emit(Kind::Text);
                }
                return Ok(());
            };
            let delim = self.pos + open;
            let after = &self.input[delim + 2..];
            let trim_left =
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1]);
            let mut text_end = delim;
            if trim_left {
                while text_end > self.start && is_space(self.input.as_bytes()[text_end - 1]) {
                    text_end -= 1;
                }
            }
            self.pos = text_end;
            if self.pos > self.start {
                self.emit(Kind::Text);
            }
            self.start = delim;
            self.pos = delim + 2 + if trim_left { 2 } else { 0 };
            if self.rest().starts_with("/*") {
                self.comment()?;
            } else {
                self.start = delim;
                let end = self.pos;
                self.pos = delim;
                self.items.push(Item {
                    kind: Kind::LeftDelim,
                    pos: delim,
                    val: "{{".into(),
                });
                self.pos = end;
                self.start = end;
                self.inside_action()?;
            }
        }
    }

    /// `{{/* ... */}}`: nothing is emitted.
    fn comment(&mut self) -> Result<(), String> {
        let Some(close) = self.rest().find("*/") else {
            return Err("unclosed comment".into());
        };
        self.pos += close + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return Err("comment ends before closing delimiter".into());
        }
        self.pos += if trim { 4 } else { 2 };
        if trim {
            self.skip_leading_space();
        }
        self.start = self.pos;
        Ok(())
    }

    fn skip_leading_space(&mut self) {
        while self.pos < self.input.len() && is_space(self.input.as_bytes()[self.pos]) {
            self.pos += 1;
        }
    }

    /// At `}}` or ` -}}`: (delimiter, with trim marker).
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest().as_bytes();
        if r.len() >= 4 && is_space(r[0]) && r[1] == b'-' && &r[2..4] == b"}}" {
            return (true, true);
        }
        (r.starts_with(b"}}"), false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with("}}"),
        }
    }

    fn inside_action(&mut self) -> Result<(), String> {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth > 0 {
                    return Err("unclosed left paren".into());
                }
                if trim {
                    self.pos += 2;
                    self.start = self.pos;
                }
                self.pos += 2;
                self.emit(Kind::RightDelim);
                if trim {
                    self.skip_leading_space();
                    self.start = self.pos;
                }
                return Ok(());
            }
            let Some(c) = self.peek() else {
                return Err("unclosed action".into());
            };
            if c.is_ascii() && is_space(c as u8) {
                // Spaces, stopping before a ` -}}`.
                while let Some(c) = self.peek() {
                    if !(c.is_ascii() && is_space(c as u8)) || self.at_right_delim().1 {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == self.start {
                    // A space that starts ` -}}`.
                    continue;
                }
                self.emit(Kind::Space);
                continue;
            }
            match c {
                '=' => {
                    self.pos += 1;
                    self.emit(Kind::Assign);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err("expected :=".into());
                    }
                    self.pos += 2;
                    self.emit(Kind::Declare);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Kind::Pipe);
                }
                '"' => self.quote('"', Kind::Str, "unterminated quoted string")?,
                '\'' => self.quote('\'', Kind::CharConst, "unterminated character constant")?,
                '`' => {
                    let Some(end) = self.input[self.pos + 1..].find('`') else {
                        return Err("unterminated raw quoted string".into());
                    };
                    self.pos += end + 2;
                    self.emit(Kind::RawStr);
                }
                '$' => {
                    self.pos += 1;
                    self.field_or_variable(Kind::Variable)?;
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|d| d.is_ascii_digit()) {
                        self.number()?;
                    } else {
                        self.pos += 1;
                        if self.at_terminator() {
                            self.emit(Kind::Dot);
                        } else {
                            self.field_or_variable(Kind::Field)?;
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.number()?,
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Kind::LeftParen);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren_depth == 0 {
                        return Err("unexpected right paren".into());
                    }
                    self.paren_depth -= 1;
                    self.emit(Kind::RightParen);
                }
                c if is_alnum(c) => {
                    while self.peek().is_some_and(is_alnum) {
                        self.pos += self.peek().map_or(1, char::len_utf8);
                    }
                    if !self.at_terminator() {
                        return Err(self.bad_char());
                    }
                    let word = &self.input[self.start..self.pos];
                    let kind = match word {
                        "true" | "false" => Kind::Bool,
                        "nil" => Kind::Nil,
                        w => KEYWORDS
                            .iter()
                            .find(|k| **k == w)
                            .map_or(Kind::Ident, |k| Kind::Keyword(k)),
                    };
                    self.emit(kind);
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.pos += 1;
                    self.emit(Kind::Char);
                }
                c => {
                    return Err(format!(
                        "unrecognized character in action: U+{:04X} '{c}'",
                        c as u32
                    ));
                }
            }
        }
    }

    fn bad_char(&self) -> String {
        let c = self.peek().unwrap_or(' ');
        format!("bad character U+{:04X} '{c}'", c as u32)
    }

    fn field_or_variable(&mut self, kind: Kind) -> Result<(), String> {
        if kind == Kind::Variable && self.at_terminator() {
            self.emit(Kind::Variable);
            return Ok(());
        }
        while self.peek().is_some_and(is_alnum) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        if !self.at_terminator() {
            return Err(self.bad_char());
        }
        self.emit(kind);
        Ok(())
    }

    fn quote(&mut self, q: char, kind: Kind, unterminated: &str) -> Result<(), String> {
        let bytes = self.input.as_bytes();
        let mut i = self.pos + 1;
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return Err(unterminated.into()),
                Some(b'\\') => {
                    if matches!(bytes.get(i + 1), None | Some(b'\n')) {
                        return Err(unterminated.into());
                    }
                    i += 2;
                }
                Some(&b) if b == q as u8 => break,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        let inner = &self.input[self.start + 1..i];
        golit::check_escapes(inner, q)?;
        if kind == Kind::CharConst && golit::unescaped_len(inner) != 1 {
            return Err(format!("malformed character constant: '{inner}'"));
        }
        self.emit(kind);
        Ok(())
    }

    /// Go's `scanNumber`; the value is checked by the parser.
    fn number(&mut self) -> Result<(), String> {
        let bytes = self.input.as_bytes();
        let accept = |pos: &mut usize, set: &str| -> bool {
            if bytes.get(*pos).is_some_and(|b| set.as_bytes().contains(b)) {
                *pos += 1;
                true
            } else {
                false
            }
        };
        let mut p = self.pos;
        accept(&mut p, "+-");
        let mut digits = "0123456789_";
        if accept(&mut p, "0") {
            if accept(&mut p, "xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if accept(&mut p, "oO") {
                digits = "01234567_";
            } else if accept(&mut p, "bB") {
                digits = "01_";
            }
        }
        while accept(&mut p, digits) {}
        if accept(&mut p, ".") {
            while accept(&mut p, digits) {}
        }
        if digits.len() == 11 && accept(&mut p, "eE") {
            accept(&mut p, "+-");
            while accept(&mut p, "0123456789_") {}
        }
        if digits.len() == 23 && accept(&mut p, "pP") {
            accept(&mut p, "+-");
            while accept(&mut p, "0123456789_") {}
        }
        accept(&mut p, "i");
        self.pos = p;
        if self.peek().is_some_and(is_alnum) {
            self.pos += self.peek().map_or(1, char::len_utf8);
            return Err(format!(
                "bad number syntax: {:?}",
                &self.input[self.start..self.pos]
            ));
        }
        self.emit(Kind::Number);
        Ok(())
    }
}

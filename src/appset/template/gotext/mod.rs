//! Go's `text/template`, written for the offline renderer: a lexer
//! (`lex`), a parser (`parse`) and an executor (`exec`) that follow Go's
//! `text/template/parse` and `exec.go`, on values shaped as Go sees JSON
//! (`value`), printed as Go's `fmt` prints them (`fmt`).
//!
//! Differences from Go, on purpose: execution runs on a step and output
//! budget ([`set_render_limits`]), nesting is bounded (blocks and
//! parentheses at parse time, `template` calls at run time), and parsed
//! templates are cached per text (one ApplicationSet renders the same
//! strings for every Application).

pub mod exec;
mod fmt;
pub mod lex;
pub mod parse;
pub mod value;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub use exec::{ErrorKind, ExecError, Limits, MissingKey};
pub use fmt::go_quote;
pub use parse::{ParseError, Tree};
pub use value::Value;

/// Steps one template string may take (nodes walked, commands, function
/// calls, `range` iterations) unless [`set_render_limits`] says otherwise.
pub const DEFAULT_MAX_STEPS: u64 = 10_000_000;

/// Bytes one template string may write unless [`set_render_limits`] says
/// otherwise (as much as one Sprig function may build).
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;

static MAX_STEPS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_STEPS);
static MAX_OUTPUT: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_OUTPUT);

/// Sets the budget of every template execution in this process.
pub fn set_render_limits(max_steps: u64, max_output: usize) {
    MAX_STEPS.store(max_steps, Ordering::Relaxed);
    MAX_OUTPUT.store(max_output, Ordering::Relaxed);
}

/// The budget [`set_render_limits`] set.
pub fn render_limits() -> Limits {
    Limits {
        max_steps: MAX_STEPS.load(Ordering::Relaxed),
        max_output: MAX_OUTPUT.load(Ordering::Relaxed),
    }
}

/// The template name Argo CD parses with: errors read `template: base:1:3: …`.
pub const TEMPLATE_NAME: &str = "base";

/// Templates kept parsed; past this the cache starts over.
const CACHE_SIZE: usize = 10_000;

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Result<Tree, ParseError>>>> =
        RefCell::new(HashMap::new());
}

/// `text` parsed (once per thread and text), or Go's parse error.
pub fn parse_cached(text: &str) -> Rc<Result<Tree, ParseError>> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(text).cloned()) {
        return hit;
    }
    let parsed = Rc::new(parse::parse(TEMPLATE_NAME, text, &has_function));
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_SIZE {
            c.clear();
        }
        c.insert(text.to_string(), Rc::clone(&parsed));
    });
    parsed
}

const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

fn has_function(name: &str) -> bool {
    BUILTINS.contains(&name) || super::funcs::lookup(name).is_some()
}

//! The result model every command produces, and its renderers. A renderer
//! only reads a `Report`; adding a format never touches the runner.

mod collector;
pub mod gantt;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
mod model;
pub mod progress;
pub mod read;
pub mod sarif;
mod suite;
pub mod terminal;

pub use collector::Collector;
pub use model::*;
pub use suite::{SuiteReport, Summary, worst};

/// Text from input made safe for a terminal: control characters (an ANSI
/// escape would clear the screen or forge a verdict) and bidirectional
/// overrides (which reorder what is shown) are written as `\u{..}` escapes.
/// Newlines and tabs stay.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    };
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn escapes_reach_the_terminal_as_text() {
        assert_eq!(terminal_safe("demo-dev"), "demo-dev");
        assert_eq!(terminal_safe("a\nb\tc"), "a\nb\tc");
        assert_eq!(terminal_safe("dev\u{1b}[2Jx"), "dev\\u{1b}[2Jx");
        assert_eq!(terminal_safe("a\u{202e}b\u{0}"), "a\\u{202e}b\\u{0}");
        assert_eq!(terminal_safe("a\rb"), "a\\u{d}b");
    }
}

//! The literals of a Go template action checked as Go's parser checks them:
//! numbers (`strconv` with base 0, as `text/template/parse.newNumber` reads
//! them) and quoted strings (`strconv.Unquote`). The template crate accepts
//! some that Go refuses (`{{ 1e }}`, `{{ 08 }}`) and spins on others
//! (`{{ "\u" }}`); Argo CD refuses them all at parse time.

/// The first literal of `action` (the text between `{{` and `}}`) Go's
/// parser refuses, with Go's message.
pub fn check_action(action: &str) -> Result<(), String> {
    let chars: Vec<char> = action.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                let end = closing(&chars, i, '"').ok_or("unterminated quoted string")?;
                let text: String = chars[i + 1..end].iter().collect();
                check_escapes(&text, '"')?;
                i = end + 1;
            }
            '\'' => {
                let end = closing(&chars, i, '\'').ok_or("unterminated character constant")?;
                let text: String = chars[i + 1..end].iter().collect();
                check_escapes(&text, '\'')?;
                if unescaped_len(&text) != 1 {
                    return Err(format!("malformed character constant: '{text}'"));
                }
                i = end + 1;
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or("unterminated raw quoted string")?;
                i += end + 2;
            }
            _ if starts_number(&chars, i) => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "._+-".contains(chars[i])) {
                    // A sign only leads, or follows an exponent letter.
                    if "+-".contains(chars[i]) && i > start && !"eEpP".contains(chars[i - 1]) {
                        break;
                    }
                    i += 1;
                }
                let token: String = chars[start..i].iter().collect();
                check_number(&token)?;
            }
            _ if c.is_alphanumeric() || c == '_' || c == '.' || c == '$' => {
                // A word, field or variable: skip it whole (`.x1e`, `$a0`).
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_.$".contains(chars[i])) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if !word.is_ascii() {
                    // Go takes Unicode letters in names; the template crate's
                    // lexer panics on them.
                    return Err(if word.starts_with(['.', '$']) {
                        format!(
                            "the name `{word}` is not ASCII, which the offline renderer cannot read"
                        )
                    } else {
                        format!("function {word:?} not defined")
                    });
                }
            }
            _ if !c.is_ascii() && !c.is_whitespace() => {
                return Err(format!(
                    "unrecognized character in action: U+{:04X} '{c}'",
                    c as u32
                ));
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Go's lexer starts a number at a digit, or a sign or `.` before a digit.
fn starts_number(chars: &[char], i: usize) -> bool {
    let digit_at = |j: usize| chars.get(j).is_some_and(char::is_ascii_digit);
    match chars[i] {
        '0'..='9' => true,
        '+' | '-' => digit_at(i + 1) || (chars.get(i + 1) == Some(&'.') && digit_at(i + 2)),
        '.' => digit_at(i + 1),
        _ => false,
    }
}

fn closing(chars: &[char], open: usize, quote: char) -> Option<usize> {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `strconv.Unquote`'s escapes: `\a \b \f \n \r \t \v \\`, the quote itself,
/// `\xHH`, `\uHHHH`, `\UHHHHHHHH` (a valid code point), `\OOO` (at most 255).
fn check_escapes(text: &str, quote: char) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            i += 1;
            continue;
        }
        let Some(&e) = chars.get(i + 1) else {
            return Err("invalid syntax".into());
        };
        let hex = |n: usize| {
            let digits: String = chars.iter().skip(i + 2).take(n).collect();
            (digits.chars().count() == n && digits.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&digits, 16).ok())
                .flatten()
        };
        let width = match e {
            'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => 2,
            c if c == quote => 2,
            'x' => hex(2).map(|_| 4).ok_or("invalid syntax")?,
            'u' => hex(4)
                .and_then(char::from_u32)
                .map(|_| 6)
                .ok_or("invalid syntax")?,
            'U' => hex(8)
                .and_then(char::from_u32)
                .map(|_| 10)
                .ok_or("invalid syntax")?,
            '0'..='7' => {
                let digits: String = chars.iter().skip(i + 1).take(3).collect();
                let ok = digits.len() == 3
                    && digits.chars().all(|c| ('0'..='7').contains(&c))
                    && u32::from_str_radix(&digits, 8).is_ok_and(|v| v <= 255);
                if !ok {
                    return Err("invalid syntax".into());
                }
                4
            }
            _ => return Err("invalid syntax".into()),
        };
        i += width;
    }
    Ok(())
}

/// Characters after unescaping (for a character constant's length).
fn unescaped_len(text: &str) -> usize {
    let mut n = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let width = match chars.next() {
                Some('x') => 2,
                Some('u') => 4,
                Some('U') => 8,
                Some('0'..='7') => 2,
                _ => 0,
            };
            for _ in 0..width {
                chars.next();
            }
        }
        n += 1;
    }
    n
}

/// `parse.newNumber`: an integer (base 0) or a float; a token that parses
/// only as a float but looks like an integer overflowed.
fn check_number(token: &str) -> Result<(), String> {
    let body = token.strip_suffix('i').unwrap_or(token);
    let unsigned = body.strip_prefix(['+', '-']).unwrap_or(body);
    if go_int(unsigned).is_some() {
        return Ok(());
    }
    if go_float(unsigned) {
        if !unsigned.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {token:?}"));
        }
        return Ok(());
    }
    Err(format!("illegal number syntax: {token:?}"))
}

/// `strconv.ParseUint(s, 0, 64)`.
fn go_int(s: &str) -> Option<u64> {
    let (radix, digits) = match s.get(..2) {
        Some("0x" | "0X") => (16, &s[2..]),
        Some("0o" | "0O") => (8, &s[2..]),
        Some("0b" | "0B") => (2, &s[2..]),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    };
    if !underscores_ok(s) {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

/// `strconv.ParseFloat(s, 64)` syntax: decimal or hexadecimal (with a `p`
/// exponent), underscores between digits.
fn go_float(s: &str) -> bool {
    if !underscores_ok(s) {
        return false;
    }
    let s: String = s.chars().filter(|c| *c != '_').collect();
    let (hex, mantissa_exp) = match s.get(..2) {
        Some("0x" | "0X") => (true, &s[2..]),
        _ => (false, s.as_str()),
    };
    let exp_chars: &[char] = if hex { &['p', 'P'] } else { &['e', 'E'] };
    let (mantissa, exponent) = match mantissa_exp.find(exp_chars) {
        Some(i) => (&mantissa_exp[..i], Some(&mantissa_exp[i + 1..])),
        None => (mantissa_exp, None),
    };
    let is_digit = |c: char| {
        if hex {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        }
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = (!int.is_empty() || !frac.is_empty())
        && int.chars().all(is_digit)
        && frac.chars().all(is_digit);
    let exponent_ok = match exponent {
        None => !hex,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    };
    mantissa_ok && exponent_ok
}

/// Go's `underscoreOK`: `_` only between digits, or after a base prefix.
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let bytes = s.as_bytes();
    let prefixed = bytes.len() > 2
        && bytes[0] == b'0'
        && matches!(bytes[1].to_ascii_lowercase(), b'x' | b'o' | b'b');
    let mut previous = if prefixed { b'0' } else { b'.' };
    let start = if prefixed { 2 } else { 0 };
    for &b in &bytes[start..] {
        if b == b'_' {
            if !previous.is_ascii_hexdigit() {
                return false;
            }
        } else if previous == b'_' && !b.is_ascii_hexdigit() {
            return false;
        }
        previous = b;
    }
    previous != b'_'
}

#[cfg(test)]
mod tests {
    use super::check_action;

    /// Each case as Go 1.26's text/template parses it.
    #[test]
    fn literals_as_go_parses_them() {
        for ok in [
            " 1_000 ",
            " 0b101 ",
            " 1e3 ",
            " .5 ",
            " 0x1p4 ",
            " 1i ",
            r#" "\u00e9" "#,
            r" '\n' ",
            r" `raw\u` ",
            " 09.5 ",
            " -3 ",
            " +3 ",
            " 0o17 ",
            " 017 ",
            " .name ",
            " $x1e ",
            " printf \"%d\" 42 ",
            r#" "a\"b" "#,
            " 0x_1f ",
        ] {
            assert_eq!(check_action(ok), Ok(()), "{ok}");
        }
        for (bad, message) in [
            (" 1e ", r#"illegal number syntax: "1e""#),
            (" 0x ", r#"illegal number syntax: "0x""#),
            (" 08 ", r#"integer overflow: "08""#),
            (" 019 ", r#"integer overflow: "019""#),
            (" 1__0 ", r#"illegal number syntax: "1__0""#),
            (r#" "\u" "#, "invalid syntax"),
            (r#" "\q" "#, "invalid syntax"),
            (r#" "\x4" "#, "invalid syntax"),
            (r#" "\'" "#, "invalid syntax"),
            (" 'ab' ", "malformed character constant: 'ab'"),
            (" ϊ ", r#"function "ϊ" not defined"#),
            (" € ", "unrecognized character in action: U+20AC '€'"),
            (
                " .ϊ ",
                "the name `.ϊ` is not ASCII, which the offline renderer cannot read",
            ),
        ] {
            assert_eq!(check_action(bad), Err(message.to_string()), "{bad}");
        }
    }
}

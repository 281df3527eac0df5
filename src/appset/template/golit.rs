//! The literals of a Go template action read as Go's parser reads them:
//! numbers (`strconv` with base 0, as `text/template/parse.newNumber` reads
//! them) and quoted strings (`strconv.Unquote`). The lexer and parser of
//! `gotext` check every literal here, so what Go refuses at parse time
//! (`{{ 1e }}`, `{{ 08 }}`, `{{ "\u" }}`) is refused at once.

/// `strconv.Unquote`'s escapes: `\a \b \f \n \r \t \v \\`, the quote itself,
/// `\xHH`, `\uHHHH`, `\UHHHHHHHH` (a valid code point), `\OOO` (at most 255).
pub(super) fn check_escapes(text: &str, quote: char) -> Result<(), String> {
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
pub(super) fn unescaped_len(text: &str) -> usize {
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
pub(super) fn check_number(token: &str) -> Result<(), String> {
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

/// `strconv.Unquote` of a quoted string, raw string or character constant
/// (its escapes already checked by `check_escapes`).
pub(super) fn unquote(quoted: &str) -> Result<String, String> {
    let mut chars = quoted.chars();
    let (Some(open), Some(close)) = (chars.next(), chars.next_back()) else {
        return Err("invalid syntax".into());
    };
    if open != close || !matches!(open, '"' | '\'' | '`') {
        return Err("invalid syntax".into());
    }
    let body = chars.as_str();
    if open == '`' {
        return Ok(body.replace('\r', ""));
    }
    check_escapes(body, open)?;
    let mut out = String::with_capacity(body.len());
    let mut it = body.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            return Err("invalid syntax".into());
        };
        let mut hex = |n: usize| -> Result<u32, String> {
            let digits: String = (0..n).filter_map(|_| it.next()).collect();
            u32::from_str_radix(&digits, 16).map_err(|_| "invalid syntax".to_string())
        };
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            'x' => {
                // A byte; Go strings may hold invalid UTF-8, a Rust String cannot.
                let b = hex(2)?;
                out.push(char::from_u32(b).unwrap_or('\u{fffd}'));
            }
            'u' => out.push(char::from_u32(hex(4)?).ok_or("invalid syntax")?),
            'U' => out.push(char::from_u32(hex(8)?).ok_or("invalid syntax")?),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    v = v * 8 + it.next().and_then(|d| d.to_digit(8)).unwrap_or(0);
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The value of a number literal Go's parser accepts: as an integer when it
/// is one (`strconv.ParseInt(s, 0, 64)`), and as a float.
pub(super) fn number_value(token: &str) -> Option<(Option<i64>, f64)> {
    let (neg, unsigned) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if let Some(u) = go_int(unsigned) {
        let int = if neg {
            0i64.checked_sub_unsigned(u)
        } else {
            i64::try_from(u).ok()
        };
        return Some((int, sign * u as f64));
    }
    let clean: String = unsigned.chars().filter(|c| *c != '_').collect();
    let f = if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        let (mantissa, exp) = hex.split_once(['p', 'P'])?;
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut v = 0f64;
        for d in int.chars().chain(frac.chars()) {
            v = v * 16.0 + f64::from(d.to_digit(16)?);
        }
        v /= 16f64.powi(i32::try_from(frac.len()).ok()?);
        v * 2f64.powi(exp.parse::<i32>().ok()?)
    } else {
        clean.parse::<f64>().ok()?
    };
    let f = sign * f;
    let int = (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
    Some((int, f))
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
    use crate::appset::template::gotext::parse_cached;

    /// The parse error of `{{action}}`, without Go's `template: base:1: `.
    fn check_action(action: &str) -> Result<(), String> {
        match parse_cached(&format!("{{{{{action}}}}}")).as_ref() {
            Ok(_) => Ok(()),
            Err(e) => Err(e.0.trim_start_matches("template: base:1: ").to_string()),
        }
    }

    /// Each case as Go 1.26's text/template parses it.
    #[test]
    fn literals_as_go_parses_them() {
        for ok in [
            " 1_000 ",
            " 0b101 ",
            " 1e3 ",
            " .5 ",
            " 0x1p4 ",
            r#" "\u00e9" "#,
            r" '\n' ",
            r" `raw\u` ",
            " 09.5 ",
            " -3 ",
            " +3 ",
            " 0o17 ",
            " 017 ",
            " .name ",
            " .ϊ ",
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
        ] {
            assert_eq!(check_action(bad), Err(message.to_string()), "{bad}");
        }
    }
}

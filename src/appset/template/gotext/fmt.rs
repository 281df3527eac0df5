//! Go's `fmt` as templates reach it: `print`, `println`, `printf`, and the
//! `%v` of printed values.

use super::value::Value;
use crate::appset::template::gofmt;

/// `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(args: &[Value<'_>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && a.as_str().is_none() && args[i - 1].as_str().is_none() {
            out.push(' ');
        }
        a.write_v(&mut out, 0);
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands, a newline at the end.
pub fn sprintln(args: &[Value<'_>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        a.write_v(&mut out, 0);
    }
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
                      next: &mut usize|
         -> Option<usize> {
            if chars.peek() == Some(&'*') {
                chars.next();
                let v = match args.get(*next) {
                    Some(Value::Int(i)) => usize::try_from(*i).ok(),
                    _ => None,
                };
                *next += 1;
                return v;
            }
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = Some(
                    n.unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(d as usize)
                        .min(1 << 16),
                );
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars, &mut next);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(number(&mut chars, &mut next).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let text = format_one(verb, spec, arg);
        pad(&mut out, &text, spec, verb);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| {
                if a.is_nil() {
                    "<nil>".to_string()
                } else {
                    format!("{}={}", a.type_name(), a.sprint())
                }
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn pad(out: &mut String, text: &str, spec: Spec, verb: char) {
    let len = text.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(text);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && "dfFeEgGxXob".contains(verb) {
        let (sign, digits) = match text.strip_prefix(['-', '+']) {
            Some(rest) => (&text[..1], rest),
            None => ("", text),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

fn bad(verb: char, v: &Value<'_>) -> String {
    if v.is_nil() {
        format!("%!{verb}(<nil>)")
    } else {
        format!("%!{verb}({}={})", v.type_name(), v.sprint())
    }
}

fn format_one(verb: char, spec: Spec, v: &Value<'_>) -> String {
    if verb == 'T' {
        return v.type_name().to_string();
    }
    if let Some(items) = v.items() {
        if verb == 'q' || verb == 'v' || verb == 's' || verb == 'd' || verb == 'x' {
            let parts: Vec<String> = items.iter().map(|i| format_one(verb, spec, i)).collect();
            return format!("[{}]", parts.join(" "));
        }
        return bad(verb, v);
    }
    if let Some(entries) = v.entries() {
        let parts: Vec<String> = entries
            .iter()
            .map(|(k, i)| format!("{k}:{}", format_one(verb, spec, i)))
            .collect();
        return format!("map[{}]", parts.join(" "));
    }
    match (verb, v) {
        ('v', Value::Nil | Value::Missing) => "<nil>".into(),
        ('v', Value::Float(f)) => {
            let s = gofmt::float(*f);
            if spec.plus && *f >= 0.0 {
                format!("+{s}")
            } else {
                s
            }
        }
        ('v' | 'd', Value::Int(i)) => signed(i.to_string(), *i >= 0, spec),
        ('v' | 't', Value::Bool(b)) => b.to_string(),
        ('v' | 's', Value::Str(s)) => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        ('q', Value::Str(s)) => go_quote(s),
        ('q' | 'c', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            if verb == 'c' {
                c.to_string()
            } else {
                format!("{c:?}")
            }
        }
        ('x', Value::Int(i)) => hex_signed(*i, false, spec),
        ('X', Value::Int(i)) => hex_signed(*i, true, spec),
        ('o', Value::Int(i)) => format!("{}{:o}", if *i < 0 { "-" } else { "" }, i.unsigned_abs()),
        ('b', Value::Int(i)) => format!("{}{:b}", if *i < 0 { "-" } else { "" }, i.unsigned_abs()),
        ('U', Value::Int(i)) => format!("U+{:04X}", i),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('f' | 'F', Value::Float(f)) => {
            signed(format!("{:.*}", spec.prec.unwrap_or(6), f), *f >= 0.0, spec)
        }
        ('e' | 'E', Value::Float(f)) => {
            let s = exp_form(*f, spec.prec.unwrap_or(6));
            signed(
                if verb == 'E' { s.to_uppercase() } else { s },
                *f >= 0.0,
                spec,
            )
        }
        ('g' | 'G', Value::Float(f)) => {
            let s = match spec.prec {
                None => gofmt::float(*f),
                Some(p) => g_form(*f, p.max(1)),
            };
            signed(
                if verb == 'G' { s.to_uppercase() } else { s },
                *f >= 0.0,
                spec,
            )
        }
        _ => bad(verb, v),
    }
}

fn signed(s: String, non_negative: bool, spec: Spec) -> String {
    if non_negative && spec.plus {
        format!("+{s}")
    } else if non_negative && spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn hex_signed(i: i64, upper: bool, spec: Spec) -> String {
    let digits = if upper {
        format!("{:X}", i.unsigned_abs())
    } else {
        format!("{:x}", i.unsigned_abs())
    };
    let prefix = if spec.sharp {
        if upper { "0X" } else { "0x" }
    } else {
        ""
    };
    format!("{}{prefix}{digits}", if i < 0 { "-" } else { "" })
}

/// `%e` with `prec` digits after the point: `1.000000e+06`.
fn exp_form(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return gofmt::float(f);
    }
    let s = format!("{f:.prec$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mantissa}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// `%.Ng`: N significant digits, `%e` form for exponents below -4 or from N.
fn g_form(f: f64, prec: usize) -> String {
    if !f.is_finite() || f == 0.0 {
        return gofmt::float(f);
    }
    let s = format!("{f:.*e}", prec - 1);
    let (_, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= prec as i32 {
        let e = exp_form(f, prec - 1);
        let (m, x) = e.split_once('e').unwrap_or((&e, ""));
        format!("{}e{x}", trim(m.to_string()))
    } else {
        let decimals = usize::try_from(prec as i32 - 1 - exp).unwrap_or(0);
        trim(format!("{f:.decimals$}"))
    }
}

/// Go's `%q` (`strconv.Quote`) for text.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// text/template's `html`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// text/template's `js`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// text/template's `urlquery` (`url.QueryEscape`).
pub fn url_query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

//! How Go's `fmt` prints JSON-decoded values with `%v`: Argo CD flattens git
//! file parameters and compares matrix parameters through `fmt.Sprintf("%v")`,
//! and JSON numbers are `float64` there (`1000000` prints as `1e+06`).

use serde_json::Value;

/// `fmt.Sprintf("%v", v)` for a value decoded by `encoding/json`.
pub fn sprint(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    if depth > super::MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Go prints maps with sorted keys.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(item) = map.get(k) {
                    write_value(out, item, depth + 1);
                }
            }
            out.push(']');
        }
    }
}

/// `%v` of a `float64`: shortest digits, `%e` form when the exponent is
/// below -4 or at least 6 (as `strconv.FormatFloat(f, 'g', -1, 64)`).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. `1.234567e6`.
    shortest_g(&format!("{f:e}"))
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: [`float`] at float32 precision.
pub fn float32(f: f32) -> String {
    if !f.is_finite() || f == 0.0 {
        return float(f64::from(f));
    }
    shortest_g(&format!("{f:e}"))
}

/// The `%g` form of shortest digits written as Rust's `{:e}` writes them.
fn shortest_g(sci: &str) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs());
    }
    let nd = digits.len() as i32;
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp + 1;
    if nd <= int_len {
        let zeros = "0".repeat((int_len - nd) as usize);
        format!("{sign}{digits}{zeros}")
    } else {
        let (i, frac) = digits.split_at(int_len as usize);
        format!("{sign}{i}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_v_prints_floats_like_go() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(100000.0), "100000");
        assert_eq!(float(1000000.0), "1e+06");
        assert_eq!(float(1234567.0), "1.234567e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(-2.5), "-2.5");
    }

    #[test]
    fn go_v_prints_collections_like_go() {
        assert_eq!(sprint(&json!(["a", 1, true, null])), "[a 1 true <nil>]");
        assert_eq!(sprint(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }
}

//! JSON text written by hand where serde_json's per-byte string escaping cost the hello request
//! several percent of its instructions: the run log record. Strings that need no escaping,
//! nearly all of them, are copied whole; the text is a `String`, never checked for UTF-8 again.

/// Appends `text` as a JSON string, exactly as `serde_json` writes it.
pub fn push_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    // A table lookup per byte, stopping at the first that needs escaping: for the short strings
    // of a record (~10 bytes) fewer instructions than checking every byte 8 or 32 at a time.
    match text.bytes().position(|byte| ESCAPE[usize::from(byte)] != 0) {
        None => out.push_str(text),
        Some(first) => {
            out.push_str(&text[..first]);
            push_escaped(out, &text[first..]);
        }
    }
    out.push('"');
}

/// How each byte is escaped in a JSON string, as serde_json escapes it: 0 for not at all, `u`
/// for `\u00XX`, else the letter after the backslash.
const ESCAPE: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `text` with quotes, backslashes and control characters escaped; the runs between
/// them are copied whole (every escaped byte is ASCII, so each run is whole characters).
fn push_escaped(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut plain = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.push_str(&text[plain..index]);
        out.push('\\');
        out.push(char::from(escape));
        if escape == b'u' {
            out.push_str("00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        plain = index + 1;
    }
    out.push_str(&text[plain..]);
}

/// Appends `text` as a JSON string, or `null` for `None`.
fn push_opt_str(out: &mut String, text: Option<&str>) {
    match text {
        Some(text) => push_str(out, text),
        None => out.push_str("null"),
    }
}

/// Appends `"name":` as given in `prefixed_name` (with its leading `{` or `,`), then `value` as
/// a JSON string or `null`.
pub fn push_field(out: &mut String, prefixed_name: &str, value: Option<&str>) {
    out.push_str(prefixed_name);
    push_opt_str(out, value);
}

/// Appends a number as serde_json writes it (`null` for one JSON cannot hold).
pub fn push_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(value));
    } else {
        out.push_str("null");
    }
}

/// Appends an integer.
pub fn push_int(out: &mut String, value: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() -> serde_json::Result<()> {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "caf\u{e9} \u{1F600}",
            "\"quoted\"",
            "back\\slash",
            "line\nbreak\ttab\r\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "a long plain string that spans several words of the vectorised check",
        ]
        .map(String::from)
        .into();
        // Every ASCII character, between other text.
        samples.extend((0..=0x7f_u8).map(|byte| format!("a{}\u{e9}\"b", char::from(byte))));
        for sample in samples {
            let mut out = String::new();
            push_str(&mut out, &sample);
            assert_eq!(out, serde_json::to_string(&sample)?, "{sample:?}");
        }
        let mut out = String::new();
        push_field(&mut out, "{\"a\":", Some("1"));
        push_field(&mut out, ",\"b\":", None);
        push_f64(&mut out, 0.1 + 0.2);
        push_f64(&mut out, f64::NAN);
        push_int(&mut out, -7);
        assert_eq!(out, format!(r#"{{"a":"1","b":null{}null-7"#, serde_json::to_string(&(0.1 + 0.2))?));
        Ok(())
    }
}

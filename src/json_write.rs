//! Writing JSON text by hand on the hot path (an HTTP event, a run log record): strings that
//! need no escaping, nearly all of them, are copied whole instead of going through serde_json's
//! byte-by-byte escaping loop, which was a tenth of the instructions of a hello request.

/// Appends `text` as a JSON string, exactly as `serde_json` writes it.
pub fn push_str(out: &mut Vec<u8>, text: &str) {
    // A fold without an early exit, so the compiler checks many bytes at a time.
    let plain = text.bytes().fold(true, |plain, byte| plain & (byte >= 0x20) & (byte != b'"') & (byte != b'\\'));
    if plain {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Appends `text` as a JSON string, or `null` for `None`.
fn push_opt_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => push_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends `"name":` as given in `prefixed_name` (with its leading `{` or `,`), then `value` as
/// a JSON string or `null`.
pub fn push_field(out: &mut Vec<u8>, prefixed_name: &str, value: Option<&str>) {
    out.extend_from_slice(prefixed_name.as_bytes());
    push_opt_str(out, value);
}

/// Appends a JSON object of string values, in the order given.
pub fn push_object<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = (&'a str, &'a str)>) {
    out.push(b'{');
    for (index, (name, value)) in fields.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_str(out, name);
        out.push(b':');
        push_str(out, value);
    }
    out.push(b'}');
}

/// The bytes written, as text: only ever valid UTF-8 (every piece appended was a `str`, ASCII or
/// serde_json output), so the lossy path is never taken.
pub fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() -> serde_json::Result<()> {
        let samples = [
            "",
            "plain",
            "caf\u{e9} \u{1F600}",
            "\"quoted\"",
            "back\\slash",
            "line\nbreak\ttab\r\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "a long plain string that spans several words of the vectorised check",
        ];
        for sample in samples {
            let mut out = Vec::new();
            push_str(&mut out, sample);
            assert_eq!(into_string(out), serde_json::to_string(sample)?, "{sample:?}");
        }
        let mut out = Vec::new();
        push_object(&mut out, [("a", "1"), ("b\"", "\n")]);
        push_opt_str(&mut out, None);
        assert_eq!(into_string(out), r#"{"a":"1","b\"":"\n"}null"#);
        Ok(())
    }
}

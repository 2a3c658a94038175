//! Path parameters as scripts get them: percent-decoded once, with every segment that could walk
//! out of a folder (`.`, `..`, an encoded `/`) or end a C string (NUL) refused, since scripts
//! commonly build file paths from them (`fs::read(`public/${input.file}`)`).

use super::reply::{ApiError, Detail};

/// Decodes the parameters matched for a route whose trailing wildcard (if any) is `wildcard`.
/// Every refused parameter is listed, by name.
pub fn decode(params: Vec<(String, String)>, wildcard: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let mut details = Vec::new();
    let mut decoded = Vec::with_capacity(params.len());
    for (name, raw) in params {
        let whole = wildcard != Some(name.as_str());
        let result = if raw.contains('%') {
            if whole {
                segment(&raw)
            } else {
                raw.split('/').map(segment).collect::<Result<Vec<_>, _>>().map(|segments| segments.join("/"))
            }
        } else {
            // Nearly every parameter (`/tasks/7`) has nothing to decode: checked and kept as is.
            let problem = if whole { problem(&raw, &raw) } else { raw.split('/').find_map(|s| problem(s, s)) };
            problem.map_or(Ok(raw), Err)
        };
        match result {
            Ok(value) => decoded.push((name, value)),
            Err(message) => details.push(Detail { field: name, message }),
        }
    }
    if details.is_empty() {
        Ok(decoded)
    } else {
        Err(ApiError::BadRequest { message: "invalid path parameters".into(), details })
    }
}

/// One path segment, decoded and checked.
fn segment(raw: &str) -> Result<String, String> {
    let value = percent_decode(raw)?;
    problem(raw, &value).map_or(Ok(value), Err)
}

/// Why the decoded segment `value` (sent as `raw`) is refused, if it is.
fn problem(raw: &str, value: &str) -> Option<String> {
    if value == "." || value == ".." {
        Some(format!("`{raw}` is a `{value}` segment (set `raw_path = true` on the route to accept it)"))
    } else if value.contains('/') {
        Some(format!("`{raw}` contains an encoded `/` (set `raw_path = true` on the route to accept it)"))
    } else if value.contains('\0') {
        Some(format!("`{raw}` contains a NUL character"))
    } else {
        None
    }
}

/// `%XX` escapes to bytes, the result as UTF-8. A `%` without two hex digits is an error rather
/// than kept as is, so one text never has two readings.
fn percent_decode(raw: &str) -> Result<String, String> {
    if !raw.contains('%') {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
            let byte = hex
                .filter(|pair| pair.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("`{raw}` has a `%` not followed by two hex digits"))?;
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{raw}` does not decode to UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str, wildcard: bool) -> Result<String, String> {
        let params = vec![("p".to_string(), raw.to_string())];
        match decode(params, wildcard.then_some("p")) {
            Ok(mut decoded) => Ok(decoded.remove(0).1),
            Err(ApiError::BadRequest { details, .. }) => Err(details[0].message.clone()),
            Err(other) => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn decodes_once_and_refuses_escaping_segments() {
        assert_eq!(one("caf%C3%A9", false).as_deref(), Ok("café"));
        assert_eq!(one("a%2520b", false).as_deref(), Ok("a%20b"));
        assert_eq!(one("a/caf%c3%a9/b", true).as_deref(), Ok("a/café/b"));
        assert_eq!(one("a//b", true).as_deref(), Ok("a//b"));
        for refused in ["..", ".", "%2e%2E", "a%2Fb", "a%00", "%", "%4", "%G0", "%FF", "%C3"] {
            assert!(one(refused, false).is_err(), "{refused}");
        }
        for refused in ["../x", "a/../b", "a/.", "a/%2e%2e/b", "a/b%2fc", "x/%00"] {
            assert!(one(refused, true).is_err(), "{refused}");
        }
        assert!(one("..a", false).is_ok() && one("a..", true).is_ok(), "only whole `..` segments");
    }
}

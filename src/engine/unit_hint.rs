//! "Function not found: len (())" in words: which value of the failed call was `()`, read from
//! the script's line at the call, since a missing map field silently reads as `()`.

use super::errors::RunError;
use std::path::Path;

/// `error` with the value that was `()` named, when it is a call that failed on `()` in a file
/// under `hub`; otherwise `error` unchanged.
pub fn explain_unit(error: RunError, hub: &Path) -> RunError {
    let RunError::Script { message, location: Some(location) } = &error else { return error };
    let Some(signature) = message.strip_prefix("Function not found: ") else { return error };
    let Some(line) = std::fs::read_to_string(hub.join(&location.source))
        .ok()
        .and_then(|text| text.lines().nth(location.line.saturating_sub(1)).map(str::to_string))
    else {
        return error;
    };
    let Some(values) = unit_values(signature, &line, location.column) else { return error };
    let named: Vec<String> = values.iter().map(|value| format!("`{value}`")).collect();
    let verb = if values.len() == 1 { "is" } else { "are" };
    RunError::Script {
        message: format!(
            "{message}: {} {verb} () (a missing map field, or a call that returned nothing)",
            named.join(" and ")
        ),
        location: Some(location.clone()),
    }
}

/// The source text of the arguments that were `()` in the call `signature` (`len (())`) whose
/// name starts at 1-based char `column` of `line`: the receiver of a method call counts as its
/// first argument.
fn unit_values(signature: &str, line: &str, column: usize) -> Option<Vec<String>> {
    let (name, types) = signature.split_once(" (")?;
    let types: Vec<&str> = types.strip_suffix(')')?.split(", ").collect();
    let chars: Vec<char> = line.chars().collect();
    let start = column.checked_sub(1)?;
    if chars.get(start..start + name.chars().count())?.iter().collect::<String>() != name {
        return None;
    }
    let mut arguments = Vec::new();
    let before: String = chars[..start].iter().collect();
    if let Some(receiver) = before.trim_end().strip_suffix('.').map(|b| b.strip_suffix('?').unwrap_or(b)) {
        arguments.push(receiver_text(receiver)?);
    }
    let after: String = chars[start + name.chars().count()..].iter().collect();
    arguments.extend(call_arguments(after.trim_start().strip_prefix('(')?)?);
    if arguments.len() != types.len() {
        return None;
    }
    let units: Vec<String> =
        types.iter().zip(arguments).filter(|(kind, _)| **kind == "()").map(|(_, text)| text).collect();
    (!units.is_empty()).then_some(units)
}

/// The expression that ends `text`: names, fields, indexes and calls chained with `.`.
fn receiver_text(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut at = chars.len();
    let mut depth = 0usize;
    while at > 0 {
        let c = chars[at - 1];
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '?') => {}
            _ => break,
        }
        at -= 1;
    }
    let expression: String = chars[at..].iter().collect();
    (depth == 0 && !expression.is_empty()).then_some(expression)
}

/// The source text of each top-level argument of a call, given the text after its `(`.
fn call_arguments(text: &str) -> Option<Vec<String>> {
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')') if depth == 0 => {
                if !current.trim().is_empty() {
                    arguments.push(current.trim().to_string());
                }
                return Some(arguments);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                arguments.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_receiver_or_argument_that_was_unit() {
        let line = "let n = input.city.len();";
        assert_eq!(unit_values("len (())", line, 20), Some(vec!["input.city".to_string()]));
        let line = "    if rows[0].tags?.contains(\"x\") {";
        assert_eq!(unit_values("contains ((), &str)", line, 22), Some(vec!["rows[0].tags".to_string()]));
        let line = "let t = parse_int(m.get(\"k\"), 10);";
        assert_eq!(unit_values("parse_int ((), i64)", line, 9), Some(vec!["m.get(\"k\")".to_string()]));
        assert_eq!(unit_values("len (())", "let n = x.size();", 11), None);
        assert_eq!(unit_values("len (string)", line, 9), None);
    }
}

//! Statement parameters: always bound, never spliced into the text. Positional (an array) or
//! named (a map). SQLite reads `?`, `?1` and `:name` itself; for a server whose own syntax is
//! different (PostgreSQL's `$1`) [`rewrite`] turns `?`, `?1` and `:name` into it, so a script
//! moves between databases unchanged. The scanner skips string literals, quoted identifiers,
//! comments, dollar-quoted bodies and `::` casts. When the text already uses the server's own
//! placeholders (`$1`), it is left as it is: `?` is also a PostgreSQL jsonb operator.

use super::value::{Unbindable, Value};
use rhai::{Array, Dynamic, Map};
use std::borrow::Cow;

/// The parameters of one call.
#[derive(Debug, Default, PartialEq)]
pub enum Params {
    #[default]
    None,
    /// An array: `?` (or `$1`) in order.
    Positional(Vec<Value>),
    /// A map: `:name`, keyed without the leading `:` (SQLite also takes `@name` and `$name` keys).
    Named(Vec<(String, Value)>),
}

/// Parameters that do not fit the statement.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamsError {
    #[error("parameters must be an array (for ?) or a map (for :name), not {0}")]
    NotArrayOrMap(String),
    #[error("{0}")]
    Unbindable(String),
    #[error("the statement has {expected} placeholders but {given} values were given")]
    Count { expected: usize, given: usize },
    #[error("no value for `:{0}` in the parameter map")]
    MissingName(String),
    #[error("`{0}` is not a placeholder of the statement")]
    UnknownName(String),
    #[error("the statement uses :name placeholders; pass a map")]
    WantsMap,
    #[error("the statement uses {0} placeholders; pass an array")]
    WantsArray(&'static str),
    #[error("the statement mixes ? and :name placeholders; use one kind")]
    Mixed,
}

impl From<Unbindable> for ParamsError {
    fn from(err: Unbindable) -> Self {
        ParamsError::Unbindable(err.to_string())
    }
}

impl Params {
    /// The parameters a script passed: `()`, an array or a map.
    pub fn from_dynamic(params: &Dynamic) -> Result<Self, ParamsError> {
        let params = params.flatten_clone();
        if params.is_unit() {
            return Ok(Params::None);
        }
        if params.is_array() {
            let values = params.cast::<Array>();
            return Ok(Params::Positional(values.iter().map(Value::from_dynamic).collect::<Result<_, _>>()?));
        }
        if params.is_map() {
            let map = params.cast::<Map>();
            let mut named = Vec::with_capacity(map.len());
            for (key, value) in &map {
                named.push((key.to_string(), Value::from_dynamic(value)?));
            }
            return Ok(Params::Named(named));
        }
        Err(ParamsError::NotArrayOrMap(params.type_name().to_string()))
    }
}

/// How a database's SQL text quotes things, for the scanner.
#[derive(Clone, Copy, Debug)]
pub struct Dialect {
    /// The placeholder the server reads: `$` for `$1` (PostgreSQL), `?` for `?` (MySQL).
    pub placeholder: char,
    /// `$tag$ ... $tag$` bodies (PostgreSQL).
    pub dollar_quotes: bool,
    /// Backslash escapes inside '...' (MySQL; PostgreSQL only in E'...').
    pub backslash_escapes: bool,
    /// `# comment` lines (MySQL).
    pub hash_comments: bool,
    /// `identifier` in backticks (MySQL).
    pub backticks: bool,
}

/// PostgreSQL's quoting and `$1` placeholders.
pub const POSTGRES: Dialect =
    Dialect { placeholder: '$', dollar_quotes: true, backslash_escapes: false, hash_comments: false, backticks: false };

/// A placeholder found in the text.
#[derive(Debug, PartialEq)]
enum Mark<'a> {
    /// `?`, or `?3` with its number.
    Question(Option<usize>),
    Named(&'a str),
    /// The server's own numbered placeholder (`$1`).
    Own,
}

/// `sql` with its placeholders in the server's syntax, and the values in the order the server
/// binds them.
pub fn rewrite<'a>(dialect: Dialect, sql: &'a str, params: Params) -> Result<(Cow<'a, str>, Vec<Value>), ParamsError> {
    let marks = scan(dialect, sql);
    let own = marks.iter().any(|(_, _, mark)| *mark == Mark::Own);
    let questions = marks.iter().any(|(_, _, mark)| matches!(mark, Mark::Question(_)));
    let named = marks.iter().any(|(_, _, mark)| matches!(mark, Mark::Named(_)));
    if own || (!questions && !named) {
        // The server's own syntax (or none): the values go in as they are, in order.
        return match params {
            Params::None => Ok((Cow::Borrowed(sql), Vec::new())),
            Params::Positional(values) => Ok((Cow::Borrowed(sql), values)),
            Params::Named(values) if values.is_empty() => Ok((Cow::Borrowed(sql), Vec::new())),
            Params::Named(_) if own => Err(ParamsError::WantsArray("$1")),
            Params::Named(values) => {
                Err(ParamsError::UnknownName(values.into_iter().next().map(|(key, _)| key).unwrap_or_default()))
            }
        };
    }
    if questions && named {
        return Err(ParamsError::Mixed);
    }
    let mut text = String::with_capacity(sql.len() + 8);
    let mut last = 0;
    let mut values = Vec::new();
    if questions {
        let given = match params {
            Params::Positional(given) => given,
            Params::None => Vec::new(),
            Params::Named(_) => return Err(ParamsError::WantsArray("?")),
        };
        let mut highest = 0;
        let mut numbers = Vec::with_capacity(marks.len());
        for (start, end, mark) in &marks {
            let Mark::Question(number) = mark else { continue };
            // A bare `?` takes the number after the highest so far, as SQLite numbers them.
            let number = number.filter(|number| *number > 0).unwrap_or(highest + 1);
            highest = highest.max(number);
            numbers.push(number);
            text.push_str(&sql[last..*start]);
            push_placeholder(&mut text, dialect, number);
            last = *end;
        }
        if given.len() != highest {
            return Err(ParamsError::Count { expected: highest, given: given.len() });
        }
        values = if dialect.placeholder == '?' {
            // A `?` server numbers nothing: each place gets its value, repeated where a number is.
            numbers.iter().filter_map(|number| given.get(number - 1).cloned()).collect()
        } else {
            given
        };
    } else {
        let Params::Named(mut given) = params else {
            return Err(ParamsError::WantsMap);
        };
        for (key, _) in &mut given {
            if let Some(bare) = key.strip_prefix(':') {
                *key = bare.to_string();
            }
        }
        let mut order: Vec<&str> = Vec::new();
        for (start, end, mark) in &marks {
            let Mark::Named(name) = mark else { continue };
            let number = match order.iter().position(|known| known == name) {
                Some(index) if dialect.placeholder == '$' => index + 1,
                _ => {
                    order.push(name);
                    order.len()
                }
            };
            text.push_str(&sql[last..*start]);
            push_placeholder(&mut text, dialect, number);
            last = *end;
        }
        if let Some((key, _)) = given.iter().find(|(key, _)| !order.contains(&key.as_str())) {
            return Err(ParamsError::UnknownName(key.clone()));
        }
        for name in order {
            let value = given.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
            values.push(value.ok_or_else(|| ParamsError::MissingName(name.to_string()))?);
        }
    }
    text.push_str(&sql[last..]);
    Ok((Cow::Owned(text), values))
}

fn push_placeholder(text: &mut String, dialect: Dialect, number: usize) {
    text.push(dialect.placeholder);
    if dialect.placeholder == '$' {
        text.push_str(itoa::Buffer::new().format(number));
    }
}

/// Every placeholder of `sql` outside literals, identifiers and comments, with its byte range.
fn scan(dialect: Dialect, sql: &str) -> Vec<(usize, usize, Mark<'_>)> {
    let bytes = sql.as_bytes();
    let mut marks = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let next = bytes.get(at + 1).copied();
        at = match byte {
            b'\'' => {
                let escapes = dialect.backslash_escapes || (at > 0 && matches!(bytes[at - 1], b'E' | b'e'));
                skip_quoted(bytes, at, b'\'', escapes)
            }
            b'"' => skip_quoted(bytes, at, b'"', false),
            b'`' if dialect.backticks => skip_quoted(bytes, at, b'`', false),
            b'-' if next == Some(b'-') => skip_line(bytes, at),
            b'#' if dialect.hash_comments => skip_line(bytes, at),
            b'/' if next == Some(b'*') => skip_block_comment(bytes, at),
            b'$' if dialect.dollar_quotes && next.is_some_and(|next| next.is_ascii_digit()) => {
                let end = digits_end(bytes, at + 1);
                marks.push((at, end, Mark::Own));
                end
            }
            b'$' if dialect.dollar_quotes => skip_dollar_quoted(bytes, at),
            b':' if next == Some(b':') => at + 2,
            b':' if next.is_some_and(|next| next.is_ascii_alphabetic() || next == b'_') => {
                let end = name_end(bytes, at + 1);
                marks.push((at, end, Mark::Named(&sql[at + 1..end])));
                end
            }
            b'?' => {
                let end = digits_end(bytes, at + 1);
                let number = sql[at + 1..end].parse().ok();
                marks.push((at, end, Mark::Question(number)));
                end
            }
            _ => at + 1,
        };
    }
    marks
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

fn name_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_') {
        at += 1;
    }
    at
}

/// Past the closing `quote` of a literal opened at `at` (a doubled quote is one quote).
fn skip_quoted(bytes: &[u8], at: usize, quote: u8, escapes: bool) -> usize {
    let mut index = at + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if escapes => index += 2,
            byte if byte == quote && bytes.get(index + 1) == Some(&quote) => index += 2,
            byte if byte == quote => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().position(|byte| *byte == b'\n').map_or(bytes.len(), |end| at + end + 1)
}

/// Past a `/* ... */` comment, which nests in PostgreSQL.
fn skip_block_comment(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0;
    let mut index = at;
    while index + 1 < bytes.len() {
        match (bytes[index], bytes[index + 1]) {
            (b'/', b'*') => {
                depth += 1;
                index += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                index += 2;
                if depth == 0 {
                    return index;
                }
            }
            _ => index += 1,
        }
    }
    bytes.len()
}

/// Past a `$tag$ ... $tag$` body opened at `at`; a lone `$` is skipped by itself.
fn skip_dollar_quoted(bytes: &[u8], at: usize) -> usize {
    let tag_end = name_end(bytes, at + 1);
    if bytes.get(tag_end) != Some(&b'$') {
        return tag_end.max(at + 1);
    }
    let tag = &bytes[at..=tag_end];
    let body = tag_end + 1;
    bytes[body..].windows(tag.len()).position(|window| window == tag).map_or(bytes.len(), |end| body + end + tag.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str, params: Params) -> Result<(String, Vec<Value>), ParamsError> {
        rewrite(POSTGRES, sql, params).map(|(text, values)| (text.into_owned(), values))
    }

    fn ints(values: &[i64]) -> Params {
        Params::Positional(values.iter().map(|value| Value::Int(*value)).collect())
    }

    fn named(pairs: &[(&str, i64)]) -> Params {
        Params::Named(pairs.iter().map(|(key, value)| (key.to_string(), Value::Int(*value))).collect())
    }

    #[test]
    fn question_marks_become_numbers() {
        let (text, values) = pg("SELECT * FROM t WHERE a = ? AND b = ?", ints(&[1, 2])).expect("rewrites");
        assert_eq!(text, "SELECT * FROM t WHERE a = $1 AND b = $2");
        assert_eq!(values, vec![Value::Int(1), Value::Int(2)]);
        let (text, _) = pg("SELECT ?2, ?1", ints(&[1, 2])).expect("numbered");
        assert_eq!(text, "SELECT $2, $1");
    }

    #[test]
    fn names_become_numbers_once_each() {
        let (text, values) = pg("SELECT :a, :b, :a", named(&[("b", 2), ("a", 1)])).expect("rewrites");
        assert_eq!(text, "SELECT $1, $2, $1");
        assert_eq!(values, vec![Value::Int(1), Value::Int(2)]);
        let (_, values) = pg("SELECT :a", named(&[(":a", 1)])).expect("a key may keep its colon");
        assert_eq!(values, vec![Value::Int(1)]);
    }

    #[test]
    fn literals_identifiers_comments_casts_and_dollar_bodies_are_skipped() {
        let sql = "SELECT '?', 'it''s :x', E'\\' ?', \"col?\", x::text, $f$ :y ? $f$, $$?$$ -- ? :z\n\
                   /* ? /* :w */ ? */ , ? FROM t WHERE a = :a";
        let err = pg(sql, ints(&[1])).expect_err("mixed");
        assert_eq!(err, ParamsError::Mixed);
        let sql = "SELECT '?', 'it''s :x', E'\\' ?', \"col?\", x::text, $f$ :y ? $f$, $$?$$ -- ? :z\n\
                   /* ? /* :w */ ? */ , ? FROM t";
        let (text, _) = pg(sql, ints(&[1])).expect("one placeholder");
        assert!(text.ends_with(", $1 FROM t"), "{text}");
        assert_eq!(text.matches('$').count(), sql.matches('$').count() + 1);
    }

    #[test]
    fn own_placeholders_leave_question_marks_alone() {
        let (text, values) = pg("SELECT data ? 'key' FROM t WHERE id = $1", ints(&[7])).expect("as is");
        assert_eq!(text, "SELECT data ? 'key' FROM t WHERE id = $1");
        assert_eq!(values, vec![Value::Int(7)]);
        assert_eq!(pg("SELECT $1", named(&[("a", 1)])), Err(ParamsError::WantsArray("$1")));
    }

    #[test]
    fn mismatches_are_named() {
        assert_eq!(pg("SELECT ?, ?", ints(&[1])), Err(ParamsError::Count { expected: 2, given: 1 }));
        assert_eq!(pg("SELECT :a", named(&[])), Err(ParamsError::MissingName("a".into())));
        assert_eq!(pg("SELECT :a", named(&[("a", 1), ("b", 2)])), Err(ParamsError::UnknownName("b".into())));
        assert_eq!(pg("SELECT :a", ints(&[1])), Err(ParamsError::WantsMap));
        assert_eq!(pg("SELECT ?", named(&[("a", 1)])), Err(ParamsError::WantsArray("?")));
        assert_eq!(pg("SELECT 1", named(&[("a", 1)])), Err(ParamsError::UnknownName("a".into())));
    }

    #[test]
    fn a_question_mark_server_gets_each_value_where_it_goes() {
        let mysql = Dialect {
            placeholder: '?',
            dollar_quotes: false,
            backslash_escapes: true,
            hash_comments: true,
            backticks: true,
        };
        let (text, values) =
            rewrite(mysql, "SELECT :b, `:a`, ':a', 'it\\'s ?' # :a\n, :a, :b", named(&[("a", 1), ("b", 2)]))
                .expect("rewrites");
        assert_eq!(text, "SELECT ?, `:a`, ':a', 'it\\'s ?' # :a\n, ?, ?");
        assert_eq!(values, vec![Value::Int(2), Value::Int(1), Value::Int(2)]);
        let (text, values) = rewrite(mysql, "SELECT ?2, ?1, ?2", ints(&[1, 2])).expect("numbered");
        assert_eq!(text, "SELECT ?, ?, ?");
        assert_eq!(values, vec![Value::Int(2), Value::Int(1), Value::Int(2)]);
    }

    #[test]
    fn unterminated_text_ends_the_scan() {
        let (text, _) = pg("SELECT 'open ?", Params::None).expect("nothing to bind");
        assert_eq!(text, "SELECT 'open ?");
        let (text, _) = pg("SELECT $tag$ ? ", Params::None).expect("nothing to bind");
        assert_eq!(text, "SELECT $tag$ ? ");
    }
}

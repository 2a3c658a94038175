//! A small Rhai scanner that knows brackets, strings and comments: it tells whether an entry
//! is still open (so the prompt continues), whether the cursor is in code, and which top-level
//! statements are `import`s.

/// What the scanner is inside of, besides plain code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// `(`, `[` or `{`, waiting for its closer.
    Bracket(char),
    /// A backtick string, which may span lines.
    Backtick,
    /// `${ ... }` inside a backtick string.
    Interpolation,
}

/// What a character belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Code,
    Text,
    Comment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Code,
    /// A `"` string; `escaped` after a backslash (which also continues the string on the next line).
    Quoted {
        escaped: bool,
    },
    /// A `'c'` character literal, which never spans lines.
    Char {
        escaped: bool,
    },
    LineComment,
    /// Rhai block comments nest.
    BlockComment {
        depth: usize,
    },
}

/// The state at the end of a piece of source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// A bracket, backtick string, block comment or `\`-continued string is still open.
    pub open: bool,
    /// What the end of the text is inside of (for completion: only complete in code).
    pub kind: Kind,
}

/// Walks `text`, calling `visit(byte_index, char, kind, depth)` for every character, where `depth`
/// is how many brackets and strings enclose it.
fn walk(text: &str, mut visit: impl FnMut(usize, char, Kind, usize)) -> End {
    let mut stack: Vec<Frame> = Vec::new();
    let mut mode = Mode::Code;
    // Set when no further line can make the entry valid (a mismatched closer, a string cut by a
    // newline): the entry is complete, so the compiler reports the error at once.
    let mut broken = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        match mode {
            Mode::Code if stack.last() == Some(&Frame::Backtick) => {
                visit(at, c, Kind::Text, stack.len());
                if c == '`' {
                    stack.pop();
                } else if c == '$' && next == Some('{') {
                    chars.next();
                    stack.push(Frame::Interpolation);
                }
            }
            Mode::Code => match c {
                '"' => {
                    visit(at, c, Kind::Text, stack.len());
                    mode = Mode::Quoted { escaped: false };
                }
                '\'' => {
                    visit(at, c, Kind::Text, stack.len());
                    mode = Mode::Char { escaped: false };
                }
                '`' => {
                    visit(at, c, Kind::Text, stack.len());
                    stack.push(Frame::Backtick);
                }
                '/' if next == Some('/') => {
                    visit(at, c, Kind::Comment, stack.len());
                    mode = Mode::LineComment;
                }
                '/' if next == Some('*') => {
                    visit(at, c, Kind::Comment, stack.len());
                    chars.next();
                    mode = Mode::BlockComment { depth: 1 };
                }
                '(' | '[' | '{' => {
                    visit(at, c, Kind::Code, stack.len());
                    stack.push(Frame::Bracket(c));
                }
                ')' | ']' | '}' => {
                    match stack.last() {
                        Some(Frame::Interpolation) if c == '}' => {
                            stack.pop();
                        }
                        Some(&Frame::Bracket(open)) if closer(open) == c => {
                            stack.pop();
                        }
                        _ => broken = true,
                    }
                    visit(at, c, Kind::Code, stack.len());
                }
                _ => visit(at, c, Kind::Code, stack.len()),
            },
            Mode::Quoted { escaped } => {
                visit(at, c, Kind::Text, stack.len());
                mode = match c {
                    _ if escaped => Mode::Quoted { escaped: false },
                    '\\' => Mode::Quoted { escaped: true },
                    '"' => Mode::Code,
                    '\n' => {
                        broken = true;
                        Mode::Code
                    }
                    _ => mode,
                };
            }
            Mode::Char { escaped } => {
                visit(at, c, Kind::Text, stack.len());
                mode = match c {
                    _ if escaped => Mode::Char { escaped: false },
                    '\\' => Mode::Char { escaped: true },
                    '\'' => Mode::Code,
                    '\n' => {
                        broken = true;
                        Mode::Code
                    }
                    _ => mode,
                };
            }
            Mode::LineComment => {
                visit(at, c, Kind::Comment, stack.len());
                if c == '\n' {
                    mode = Mode::Code;
                }
            }
            Mode::BlockComment { depth } => {
                visit(at, c, Kind::Comment, stack.len());
                if c == '*' && next == Some('/') {
                    chars.next();
                    mode = if depth == 1 { Mode::Code } else { Mode::BlockComment { depth: depth - 1 } };
                } else if c == '/' && next == Some('*') {
                    chars.next();
                    mode = Mode::BlockComment { depth: depth + 1 };
                }
            }
        }
    }
    let kind = match mode {
        Mode::Code if stack.last() == Some(&Frame::Backtick) => Kind::Text,
        Mode::Code => Kind::Code,
        Mode::Quoted { .. } | Mode::Char { .. } => Kind::Text,
        Mode::LineComment | Mode::BlockComment { .. } => Kind::Comment,
    };
    // Enter inside a `"` string or a character literal ends it there: only `\` continues a string.
    broken |= matches!(mode, Mode::Quoted { escaped: false } | Mode::Char { .. });
    let open =
        !broken && (!stack.is_empty() || matches!(mode, Mode::BlockComment { .. } | Mode::Quoted { escaped: true }));
    End { open, kind }
}

fn closer(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Scans a whole entry.
pub fn scan(text: &str) -> End {
    walk(text, |_, _, _, _| {})
}

/// The `import` statements at the top level of `text`, each ending with `;`.
pub fn top_level_imports(text: &str) -> Vec<String> {
    let mut imports = Vec::new();
    let mut start: Option<usize> = None;
    let take = |start: usize, end: usize, imports: &mut Vec<String>| {
        let statement = text[start..end].trim().trim_end_matches(';').trim_end();
        let keyword =
            statement.strip_prefix("import").is_some_and(|rest| rest.starts_with([' ', '\t', '\n', '"', '`']));
        if keyword {
            imports.push(format!("{statement};"));
        }
    };
    walk(text, |at, c, kind, depth| {
        if kind == Kind::Comment || (depth == 0 && kind == Kind::Code && c.is_whitespace() && start.is_none()) {
            return;
        }
        let begins = *start.get_or_insert(at);
        if depth == 0 && kind == Kind::Code && (c == ';' || c == '}') {
            take(begins, at + c.len_utf8(), &mut imports);
            start = None;
        }
    });
    if let Some(begins) = start {
        take(begins, text.len(), &mut imports);
    }
    imports
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> bool {
        scan(text).open
    }

    #[test]
    fn brackets_keep_an_entry_open() {
        assert!(!open("let x = 1;"));
        assert!(open("fn add(a, b) {"));
        assert!(open("let list = [1,\n2,"));
        assert!(open("call(1,"));
        assert!(!open("fn add(a, b) {\n  a + b\n}"));
        assert!(open("let m = #{ a: #{ b: 1 }"));
    }

    #[test]
    fn brackets_inside_strings_and_comments_do_not_count() {
        assert!(!open(r#"let s = "{ [ (";"#));
        assert!(!open("let c = '{';"));
        assert!(!open("let x = 1; // {"));
        assert!(!open("/* { */ let x = 1;"));
        assert!(!open(r#"let s = "a \" {";"#));
    }

    #[test]
    fn strings_and_comments_can_stay_open() {
        assert!(open("let s = `first line"));
        assert!(!open("let s = `first\nsecond`"));
        assert!(open("let s = \"continued \\"));
        assert!(open("/* a comment"));
        assert!(open("/* outer /* inner */ still outer"));
        assert!(!open("/* outer /* inner */ done */"));
    }

    #[test]
    fn interpolation_in_backtick_strings_is_code() {
        assert!(!open("let s = `a ${ \"}\" } b`;"));
        assert!(open("let s = `a ${ f(1,"));
        assert!(!open("let s = `x ${ #{a: 1}.a } y`"));
    }

    #[test]
    fn unfinishable_entries_are_complete_so_the_compiler_reports_them() {
        assert!(!open("let x = 1 )"));
        assert!(!open("let s = \"unterminated"));
        assert!(!open("[1, 2}"));
        assert!(!open("let db = sql::connection(\"db"), "Enter in a string ends it, even inside brackets");
        assert!(!open("f(\"a\nb\","), "a string cut by a newline cannot be finished");
        assert!(!open("f('a"));
    }

    #[test]
    fn the_end_of_the_text_knows_what_it_is_in() {
        assert_eq!(scan("json::pa").kind, Kind::Code);
        assert_eq!(scan("let s = \"jso").kind, Kind::Text);
        assert_eq!(scan("let s = `a ${ jso").kind, Kind::Code);
        assert_eq!(scan("x // jso").kind, Kind::Comment);
    }

    #[test]
    fn top_level_imports_are_found() {
        let text = "import \"std/text\" as text;\nlet x = 1; if x > 0 { import \"inner\" as i; }\n// import \"no\"\nimport `std/retry` as retry";
        assert_eq!(top_level_imports(text), vec!["import \"std/text\" as text;", "import `std/retry` as retry;"]);
        assert!(top_level_imports("let important = 1;").is_empty());
        assert!(top_level_imports("let s = \"import x\";").is_empty());
    }
}

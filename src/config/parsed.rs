//! Manifest values read from their text when the manifest is loaded (a method, a rate, a
//! signature scheme ...): each kind's rule lives in its `Parsed` impl, its error lists what is
//! accepted, and while a manifest is read a mistaken value is recorded and stood in for, so the
//! rest of its entry is still read and checked.

use serde::{Deserializer, de};
use std::cell::RefCell;
use std::ops::Range;

/// A value a manifest writes as text, parsed once at load time.
pub trait Parsed: Sized {
    /// The value `text` names, or what was wrong with it.
    fn parse(text: &str) -> Result<Self, ValueError>;
    /// A value that stands in for a mistaken one while the rest of its entry is read; the
    /// manifest is refused anyway, so it is never used.
    fn stand_in() -> Self;
}

/// A closed set of words, such as the HTTP methods a route may have.
pub trait Choice: Copy + 'static {
    /// What a value is called in errors (`method`).
    const WHAT: &'static str;
    /// Each accepted word with its value, in the order errors list them.
    const WORDS: &'static [(&'static str, Self)];
    /// Whether `get` is read as `GET`.
    const ANY_CASE: bool = false;
}

impl<T: Choice> Parsed for T {
    fn parse(text: &str) -> Result<Self, ValueError> {
        let found = T::WORDS.iter().find(|(word, _)| *word == text || T::ANY_CASE && word.eq_ignore_ascii_case(text));
        found
            .map(|(_, value)| *value)
            .ok_or_else(|| ValueError::unknown(T::WHAT, text, T::WORDS.iter().map(|(w, _)| *w)))
    }

    fn stand_in() -> Self {
        T::WORDS[0].1
    }
}

/// The word of `value` as the manifest writes it.
pub fn word<T: Choice + PartialEq>(value: T) -> &'static str {
    T::WORDS.iter().find(|(_, known)| *known == value).map_or("", |(word, _)| word)
}

/// What is wrong with a value's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    /// `text` is none of `accepted`: they are listed, with the closest as a suggestion.
    pub fn unknown<'a>(what: &str, text: &str, accepted: impl Iterator<Item = &'a str> + Clone) -> Self {
        let hint = super::closest(text, accepted.clone()).map(|best| format!("; did you mean `{best}`?"));
        let list = accepted.collect::<Vec<_>>().join(", ");
        Self(format!("unknown {what} `{text}`; expected one of {list}{}", hint.unwrap_or_default()))
    }
}

/// A mistaken value found while a manifest was read: where its text is, and what was wrong.
#[derive(Debug)]
pub struct Mistake {
    pub span: Range<usize>,
    pub error: ValueError,
}

thread_local! {
    static MISTAKES: RefCell<Option<Vec<Mistake>>> = const { RefCell::new(None) };
}

/// Runs `read` recording the mistaken values it meets instead of failing on them.
pub fn recording<T>(read: impl FnOnce() -> T) -> (T, Vec<Mistake>) {
    let outer = MISTAKES.with(|mistakes| mistakes.replace(Some(Vec::new())));
    let result = read();
    let found = MISTAKES.with(|mistakes| mistakes.replace(outer)).unwrap_or_default();
    (result, found)
}

/// Reads a `Parsed` value from a TOML string: a mistake is an error, or, while [`recording`], a
/// recorded mistake and the stand-in.
pub fn deserialize<'de, D: Deserializer<'de>, T: Parsed>(deserializer: D) -> Result<T, D::Error> {
    let text: toml::Spanned<String> = serde::Deserialize::deserialize(deserializer)?;
    let span = text.span();
    match T::parse(text.get_ref()) {
        Ok(value) => Ok(value),
        Err(error) => MISTAKES.with(|mistakes| match mistakes.borrow_mut().as_mut() {
            Some(found) => {
                if !found.iter().any(|mistake| mistake.span == span) {
                    found.push(Mistake { span, error });
                }
                Ok(T::stand_in())
            }
            None => Err(de::Error::custom(error)),
        }),
    }
}

/// `Deserialize` and `FromStr` for `Parsed` types.
macro_rules! read_from_text {
    ($($kind:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $kind {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::config::parsed::deserialize(deserializer)
            }
        }

        impl std::str::FromStr for $kind {
            type Err = $crate::config::parsed::ValueError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <$kind as $crate::config::parsed::Parsed>::parse(text)
            }
        }
    )*};
}
pub(crate) use read_from_text;

//! [`Value`]s to and from MySQL's wire values. MySQL prepared statements do not say what type a
//! parameter wants (the server converts what it is sent), so a value is sent as its nearest
//! MySQL value: a bool as 1/0, a decimal, UUID or JSON as its text, a time as a UTC `DATETIME`.
//! A column is read by the type, length and character set the server reports for it.

use super::value::Value;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use mysql_async::consts::ColumnType;
use mysql_async::{Column, Value as My};

/// The character set number MySQL gives binary strings (`BLOB`, `VARBINARY`, `BINARY`).
const BINARY_CHARSET: u16 = 63;

/// A script's value as the MySQL value it is sent as.
pub fn bind(value: Value) -> My {
    match value {
        Value::Null => My::NULL,
        Value::Bool(b) => My::Int(i64::from(b)),
        Value::Int(i) => My::Int(i),
        Value::Float(f) => My::Double(f),
        Value::Bytes(bytes) => My::Bytes(bytes),
        Value::Time(utc) => datetime(utc.naive_utc()),
        Value::Date(date) => datetime(date.and_time(NaiveTime::MIN)),
        // MySQL has no array type: an array is sent as its JSON text, as for a JSON column.
        other => My::Bytes(other.to_text().unwrap_or_default().into_bytes()),
    }
}

fn datetime(time: NaiveDateTime) -> My {
    // Each part fits its field by construction (month 1-12, microseconds < 2 000 000).
    let part = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
    My::Date(
        u16::try_from(time.year()).unwrap_or(0),
        part(time.month()),
        part(time.day()),
        part(time.hour()),
        part(time.minute()),
        part(time.second()),
        time.nanosecond() / 1000,
    )
}

/// What a column's values become, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    /// `TINYINT(1)`, which is what MySQL's `BOOLEAN` is.
    Bool,
    Float,
    Decimal,
    Text,
    Bytes,
    /// A column the server marks as JSON (MySQL's `JSON` type; MariaDB's `JSON` is a
    /// `LONGTEXT` and reads as text).
    Json,
    Date,
    Time,
    /// `TIME`: a duration or time of day, read as `HH:MM:SS[.ffffff]` text.
    Duration,
    Null,
}

impl Kind {
    pub fn of(column: &Column) -> Self {
        use ColumnType::*;
        match column.column_type() {
            MYSQL_TYPE_TINY if column.column_length() == 1 => Kind::Bool,
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_YEAR => Kind::Int,
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Kind::Float,
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Kind::Decimal,
            MYSQL_TYPE_JSON => Kind::Json,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Kind::Date,
            MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => Kind::Time,
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => Kind::Duration,
            MYSQL_TYPE_NULL => Kind::Null,
            MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Kind::Bytes,
            // VARCHAR, CHAR, TEXT and BLOB types, ENUM and SET: text unless the charset is binary.
            _ if column.character_set() == BINARY_CHARSET => Kind::Bytes,
            _ => Kind::Text,
        }
    }
}

/// A column's value as a script reads it. Prepared statements send typed values; the text
/// protocol sends text, which is parsed by the column's kind, so both read the same.
pub(super) fn read(value: My, kind: Kind) -> Result<Value, String> {
    Ok(match (value, kind) {
        (My::NULL, _) => Value::Null,
        (My::Int(i), Kind::Bool) => Value::Bool(i != 0),
        (My::UInt(u), Kind::Bool) => Value::Bool(u != 0),
        (My::Int(i), _) => Value::Int(i),
        // BIGINT UNSIGNED above i64's range reads as exact decimal text rather than wrapping.
        (My::UInt(u), _) => i64::try_from(u).map_or_else(|_| Value::Decimal(u.to_string()), Value::Int),
        (My::Float(f), _) => Value::Float(f64::from(f)),
        (My::Double(f), _) => Value::Float(f),
        (My::Date(y, mo, d, h, mi, s, us), Kind::Date) if (h, mi, s, us) == (0, 0, 0, 0) => {
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d)).map_or(Value::Null, Value::Date)
        }
        (My::Date(y, mo, d, h, mi, s, us), _) => NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
            .and_then(|date| date.and_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us))
            // The zero date `0000-00-00` MySQL allows has no instant: it reads as `()`.
            .map_or(Value::Null, |time| Value::Time(time.and_utc())),
        (My::Time(negative, days, h, mi, s, us), _) => {
            let hours = days * 24 + u32::from(h);
            let sign = if negative { "-" } else { "" };
            let fraction = if us == 0 { String::new() } else { format!(".{us:06}") };
            Value::Text(format!("{sign}{hours:02}:{mi:02}:{s:02}{fraction}"))
        }
        (My::Bytes(bytes), kind) => from_bytes(bytes, kind)?,
    })
}

/// A value sent as bytes: a binary string, text, or (text protocol) a number or time as text.
fn from_bytes(bytes: Vec<u8>, kind: Kind) -> Result<Value, String> {
    if kind == Kind::Bytes {
        return Ok(Value::Bytes(bytes));
    }
    let text = String::from_utf8(bytes).map_err(|_| "the server sent text that is not UTF-8".to_string())?;
    let number = |what: &str| format!("the server sent `{text}` for a {what} column");
    Ok(match kind {
        Kind::Bool => Value::Bool(text.trim() != "0"),
        Kind::Int => match text.trim().parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) if text.trim().parse::<u64>().is_ok() => Value::Decimal(text),
            Err(_) => return Err(number("integer")),
        },
        Kind::Float => Value::Float(text.trim().parse().map_err(|_| number("float"))?),
        Kind::Decimal => Value::Decimal(text),
        Kind::Json => Value::Json(serde_json::from_str(&text).map_err(|err| format!("invalid JSON ({err})"))?),
        Kind::Date => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) => Value::Date(date),
            Err(_) => Value::Null,
        },
        Kind::Time => match NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f") {
            Ok(time) => Value::Time(time.and_utc()),
            Err(_) => Value::Null,
        },
        Kind::Text | Kind::Duration | Kind::Null | Kind::Bytes => Value::Text(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn script_values_become_mysql_values() {
        assert_eq!(bind(Value::Bool(true)), My::Int(1));
        assert_eq!(bind(Value::Decimal("1.50".into())), My::Bytes(b"1.50".to_vec()));
        assert_eq!(bind(Value::Array(vec![Value::Int(1)])), My::Bytes(b"[1]".to_vec()));
        let time = Utc.with_ymd_and_hms(2026, 12, 2, 10, 20, 30).single().expect("time");
        assert_eq!(bind(Value::Time(time)), My::Date(2026, 12, 2, 10, 20, 30, 0));
    }

    #[test]
    fn typed_and_text_values_read_alike() {
        assert_eq!(read(My::Int(1), Kind::Bool), Ok(Value::Bool(true)));
        assert_eq!(read(My::Bytes(b"0".to_vec()), Kind::Bool), Ok(Value::Bool(false)));
        assert_eq!(read(My::Bytes(b"42".to_vec()), Kind::Int), Ok(Value::Int(42)));
        assert_eq!(read(My::UInt(u64::MAX), Kind::Int), Ok(Value::Decimal(u64::MAX.to_string())));
        assert_eq!(read(My::Bytes(b"1.5".to_vec()), Kind::Float), Ok(Value::Float(1.5)));
        let date = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert_eq!(read(My::Date(2026, 12, 2, 0, 0, 0, 0), Kind::Date), Ok(Value::Date(date)));
        assert_eq!(read(My::Bytes(b"2026-12-02".to_vec()), Kind::Date), Ok(Value::Date(date)));
        let time = date.and_hms_milli_opt(10, 20, 30, 500).expect("time").and_utc();
        assert_eq!(read(My::Date(2026, 12, 2, 10, 20, 30, 500_000), Kind::Time), Ok(Value::Time(time)));
        assert_eq!(read(My::Bytes(b"2026-12-02 10:20:30.500".to_vec()), Kind::Time), Ok(Value::Time(time)));
        assert_eq!(read(My::Date(0, 0, 0, 0, 0, 0, 0), Kind::Time), Ok(Value::Null));
        assert_eq!(read(My::Time(true, 1, 2, 3, 4, 0), Kind::Duration), Ok(Value::Text("-26:03:04".into())));
        assert_eq!(read(My::Bytes(b"[1]".to_vec()), Kind::Json), Ok(Value::Json(serde_json::json!([1]))));
        assert_eq!(read(My::Bytes(vec![255]), Kind::Bytes), Ok(Value::Bytes(vec![255])));
        assert!(read(My::Bytes(vec![255]), Kind::Text).is_err());
    }
}

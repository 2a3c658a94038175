//! [`Value`]s to and from PostgreSQL's binary wire types. A bound value is converted to the
//! type the server reports for its parameter (a string bound to a uuid, numeric, date or jsonb
//! parameter; an int to a float or numeric one; a map to json); a column is read by its type.

use super::numeric;
use super::value::{Value, is_decimal, parse_time};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use std::error::Error;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

type Boxed = Box<dyn Error + Sync + Send>;

/// A parameter's value, converted to the parameter's type as it is sent.
#[derive(Debug)]
pub struct Bind(pub Value);

/// Why a value does not fit its parameter.
fn mismatch(value: &Value, ty: &Type) -> Boxed {
    format!(
        "a {} cannot be bound to a parameter of type {ty}; bind text and cast it in SQL (`?::text::{ty}`)",
        value.kind()
    )
    .into()
}

impl ToSql for Bind {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Boxed> {
        let value = &self.0;
        if *value == Value::Null {
            return Ok(IsNull::Yes);
        }
        let wrong = || mismatch(value, ty);
        match ty.kind() {
            Kind::Array(_) => {
                let Value::Array(items) = value else { return Err(wrong()) };
                // Each element is converted to the array's element type in turn.
                let items: Vec<Bind> = items.iter().cloned().map(Bind).collect();
                return items.to_sql(ty, out);
            }
            Kind::Domain(base) => return Bind(value.clone()).to_sql(base, out),
            Kind::Enum(_) => {
                let text = value.to_text().ok_or_else(wrong)?;
                out.extend_from_slice(text.as_bytes());
                return Ok(IsNull::No);
            }
            _ => {}
        }
        match *ty {
            Type::BOOL => match value {
                Value::Bool(b) => b.to_sql(ty, out),
                Value::Text(text) if matches!(text.as_str(), "true" | "false") => (text == "true").to_sql(ty, out),
                _ => Err(wrong()),
            },
            Type::INT2 => {
                i16::try_from(integer(value).ok_or_else(wrong)?).map_err(|_| out_of_range(ty))?.to_sql(ty, out)
            }
            Type::INT4 => {
                i32::try_from(integer(value).ok_or_else(wrong)?).map_err(|_| out_of_range(ty))?.to_sql(ty, out)
            }
            Type::INT8 => integer(value).ok_or_else(wrong)?.to_sql(ty, out),
            Type::OID => {
                u32::try_from(integer(value).ok_or_else(wrong)?).map_err(|_| out_of_range(ty))?.to_sql(ty, out)
            }
            Type::FLOAT4 | Type::FLOAT8 => {
                let float = match value {
                    Value::Float(f) => *f,
                    #[allow(clippy::cast_precision_loss)]
                    Value::Int(i) => *i as f64,
                    Value::Text(text) | Value::Decimal(text) => text.trim().parse().map_err(|_| wrong())?,
                    _ => return Err(wrong()),
                };
                #[allow(clippy::cast_possible_truncation)]
                if *ty == Type::FLOAT4 { (float as f32).to_sql(ty, out) } else { float.to_sql(ty, out) }
            }
            Type::NUMERIC => {
                let text = match value {
                    Value::Int(i) => i.to_string(),
                    // The shortest text that reads back as the same float.
                    Value::Float(f) => f.to_string(),
                    Value::Text(text) | Value::Decimal(text) if is_decimal(text) => text.clone(),
                    Value::Text(text) => return Err(format!("`{text}` is not a decimal number").into()),
                    _ => return Err(wrong()),
                };
                let mut bytes = Vec::new();
                numeric::encode(&text, &mut bytes)?;
                out.extend_from_slice(&bytes);
                Ok(IsNull::No)
            }
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => match value {
                Value::Bytes(_) | Value::Array(_) => Err(wrong()),
                other => other.to_text().ok_or_else(wrong)?.to_sql(&Type::TEXT, out),
            },
            Type::BYTEA => match value {
                Value::Bytes(bytes) => bytes.to_sql(ty, out),
                Value::Text(text) => text.as_bytes().to_sql(ty, out),
                _ => Err(wrong()),
            },
            Type::JSON | Type::JSONB => {
                let json = match value {
                    // A string is JSON text (what `json::stringify` gave); anything else is its value.
                    Value::Text(text) => serde_json::from_str(text)
                        .map_err(|err| format!("a string bound to a {ty} parameter must be JSON text ({err})"))?,
                    other => other.to_json(),
                };
                json.to_sql(ty, out)
            }
            Type::UUID => match value {
                Value::Uuid(uuid) => uuid.to_sql(ty, out),
                Value::Text(text) => text
                    .trim()
                    .parse::<uuid::Uuid>()
                    .map_err(|err| format!("`{text}` is not a UUID ({err})"))?
                    .to_sql(ty, out),
                _ => Err(wrong()),
            },
            Type::TIMESTAMPTZ => time(value).ok_or_else(wrong)?.to_sql(ty, out),
            Type::TIMESTAMP => time(value).ok_or_else(wrong)?.naive_utc().to_sql(ty, out),
            Type::DATE => match value {
                Value::Date(date) => date.to_sql(ty, out),
                other => time(other).ok_or_else(wrong)?.date_naive().to_sql(ty, out),
            },
            Type::TIME => match value {
                Value::Text(text) => NaiveTime::parse_from_str(text.trim(), "%H:%M:%S%.f")
                    .map_err(|err| format!("`{text}` is not a time of day ({err})"))?
                    .to_sql(ty, out),
                Value::Time(utc) => utc.time().to_sql(ty, out),
                _ => Err(wrong()),
            },
            _ => Err(wrong()),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Every type is tried; `to_sql` refuses, with the value and type named, what does not fit.
        true
    }

    to_sql_checked!();
}

fn out_of_range(ty: &Type) -> Boxed {
    format!("the number is out of range for a parameter of type {ty}").into()
}

/// An integer from an int, or from text that is one.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::Text(text) | Value::Decimal(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// An instant from a time, a date (midnight UTC) or text in RFC 3339 (or `YYYY-MM-DD`).
fn time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Time(utc) => Some(*utc),
        Value::Date(date) => Some(date.and_time(NaiveTime::MIN).and_utc()),
        Value::Text(text) => parse_time(text),
        _ => None,
    }
}

/// A column's value, read by its type.
pub struct Read(pub Value);

impl<'a> FromSql<'a> for Read {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Boxed> {
        match ty.kind() {
            Kind::Array(_) => {
                let items = Vec::<Read>::from_sql(ty, raw)?;
                return Ok(Read(Value::Array(items.into_iter().map(|Read(value)| value).collect())));
            }
            Kind::Domain(base) => return Read::from_sql(base, raw),
            Kind::Enum(_) => return Ok(Read(Value::Text(String::from_utf8_lossy(raw).into_owned()))),
            _ => {}
        }
        let value = match *ty {
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => Value::Float(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::NUMERIC => Value::Decimal(numeric::decode(raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR => {
                Value::Text(String::from_utf8_lossy(raw).into_owned())
            }
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::JSON | Type::JSONB => Value::Json(serde_json::Value::from_sql(ty, raw)?),
            Type::UUID => Value::Uuid(uuid::Uuid::from_sql(ty, raw)?),
            Type::TIMESTAMPTZ => Value::Time(DateTime::<Utc>::from_sql(ty, raw)?),
            Type::TIMESTAMP => Value::Time(NaiveDateTime::from_sql(ty, raw)?.and_utc()),
            Type::DATE => Value::Date(NaiveDate::from_sql(ty, raw)?),
            Type::TIME => Value::Text(NaiveTime::from_sql(ty, raw)?.format("%H:%M:%S%.f").to_string()),
            _ => {
                return Err(
                    format!("a column of type {ty} has no script value; cast it in SQL (e.g. `column::text`)").into()
                );
            }
        };
        Ok(Read(value))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Boxed> {
        Ok(Read(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

//! PostgreSQL's binary NUMERIC to and from exact decimal text. tokio-postgres has no NUMERIC
//! type of its own, and the crates that add one go through a fixed-size decimal (rust_decimal's
//! 28 digits) that rounds what PostgreSQL keeps exactly (up to 131072 digits before the point).
//!
//! The wire form: digit count, weight (of the first base-10000 digit), sign, display scale, then
//! base-10000 digits.

/// The signs of the wire form.
const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const INFINITY: u16 = 0xD000;
const NEGATIVE_INFINITY: u16 = 0xF000;

/// A NUMERIC that is not what the wire form says it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NumericError {
    #[error("`{0}` is not a decimal number")]
    NotDecimal(String),
    #[error("a NUMERIC value from the server is malformed")]
    Malformed,
}

/// Decimal text (`-12.50`, `1e3`, `NaN`) as NUMERIC's wire form.
pub fn encode(text: &str, out: &mut Vec<u8>) -> Result<(), NumericError> {
    let not_decimal = || NumericError::NotDecimal(text.to_string());
    let trimmed = text.trim();
    let special = match trimmed.to_ascii_lowercase().as_str() {
        "nan" => Some(NAN),
        "infinity" | "+infinity" | "inf" => Some(INFINITY),
        "-infinity" | "-inf" => Some(NEGATIVE_INFINITY),
        _ => None,
    };
    if let Some(sign) = special {
        write_header(out, 0, 0, sign, 0);
        return Ok(());
    }
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().map_err(|_| not_decimal())?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err(not_decimal());
    }
    if exponent.unsigned_abs() > 200_000 {
        return Err(not_decimal());
    }
    // Move the decimal point by the exponent.
    let mut all: String = format!("{whole}{fraction}");
    let mut point = i64::try_from(whole.len()).map_err(|_| not_decimal())? + i64::from(exponent);
    if point < 0 {
        all.insert_str(0, &"0".repeat(usize::try_from(-point).unwrap_or(0)));
        point = 0;
    }
    let point = usize::try_from(point).unwrap_or(0);
    if point > all.len() {
        all.push_str(&"0".repeat(point - all.len()));
    }
    let (whole, fraction) = all.split_at(point);
    let scale = u16::try_from(fraction.len()).map_err(|_| not_decimal())?;

    // Whole digits padded on the left and fraction digits on the right to groups of four.
    let whole_pad = (4 - whole.len() % 4) % 4;
    let fraction_pad = (4 - fraction.len() % 4) % 4;
    let padded = format!("{}{whole}{fraction}{}", "0".repeat(whole_pad), "0".repeat(fraction_pad));
    let mut groups: Vec<i16> = padded
        .as_bytes()
        .chunks(4)
        .map(|chunk| chunk.iter().fold(0_i16, |sum, digit| sum * 10 + i16::from(digit - b'0')))
        .collect();
    let mut weight = i32::try_from((whole.len() + whole_pad) / 4).map_err(|_| not_decimal())? - 1;
    let leading = groups.iter().take_while(|group| **group == 0).count();
    groups.drain(..leading);
    weight -= i32::try_from(leading).map_err(|_| not_decimal())?;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        write_header(out, 0, 0, POSITIVE, scale);
        return Ok(());
    }
    let count = i16::try_from(groups.len()).map_err(|_| not_decimal())?;
    let weight = i16::try_from(weight).map_err(|_| not_decimal())?;
    write_header(out, count, weight, if negative { NEGATIVE } else { POSITIVE }, scale);
    for group in groups {
        out.extend_from_slice(&group.to_be_bytes());
    }
    Ok(())
}

fn write_header(out: &mut Vec<u8>, count: i16, weight: i16, sign: u16, scale: u16) {
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&scale.to_be_bytes());
}

/// NUMERIC's wire form as decimal text with its display scale (`12.50`, `NaN`).
pub fn decode(raw: &[u8]) -> Result<String, NumericError> {
    let word = |at: usize| raw.get(at..at + 2).map(|bytes| u16::from_be_bytes([bytes[0], bytes[1]]));
    let (Some(count), Some(weight), Some(sign), Some(scale)) = (word(0), word(2), word(4), word(6)) else {
        return Err(NumericError::Malformed);
    };
    let count = usize::from(count);
    let weight = i32::from(weight.cast_signed());
    match sign {
        NAN => return Ok("NaN".into()),
        INFINITY => return Ok("Infinity".into()),
        NEGATIVE_INFINITY => return Ok("-Infinity".into()),
        POSITIVE | NEGATIVE => {}
        _ => return Err(NumericError::Malformed),
    }
    let mut digits = Vec::with_capacity(count);
    for index in 0..count {
        let digit = word(8 + index * 2).ok_or(NumericError::Malformed)?;
        if digit > 9999 {
            return Err(NumericError::Malformed);
        }
        digits.push(digit);
    }
    let digit = |index: i32| usize::try_from(index).ok().and_then(|index| digits.get(index)).copied().unwrap_or(0);

    let mut text = String::new();
    if sign == NEGATIVE && count > 0 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for index in 1..=weight {
            text.push_str(&format!("{:04}", digit(index)));
        }
    }
    let scale = usize::from(scale);
    if scale > 0 {
        text.push('.');
        let mut fraction = String::with_capacity(scale + 4);
        let mut index = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(index)));
            index += 1;
        }
        fraction.truncate(scale);
        text.push_str(&fraction);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let mut out = Vec::new();
        encode(text, &mut out).unwrap_or_else(|err| panic!("{text}: {err}"));
        decode(&out).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    #[test]
    fn decimals_survive_exactly() {
        for text in [
            "0",
            "0.00",
            "1",
            "-12.50",
            "10000",
            "9999",
            "0.0001",
            "0.00000001",
            "-0.5",
            "12345678901234567890.000000000000000001",
            "3.14159265358979323846264338327950288419716939937510",
            "NaN",
            "Infinity",
            "-Infinity",
        ] {
            assert_eq!(round_trip(text), text);
        }
    }

    #[test]
    fn exponents_signs_and_bare_points_are_normalized() {
        assert_eq!(round_trip("1e3"), "1000");
        assert_eq!(round_trip("1.5E-3"), "0.0015");
        assert_eq!(round_trip("+7"), "7");
        assert_eq!(round_trip(".5"), "0.5");
        assert_eq!(round_trip("5."), "5");
        assert_eq!(round_trip("-0"), "0");
        assert_eq!(round_trip("nan"), "NaN");
    }

    #[test]
    fn the_wire_form_matches_postgres() {
        // SELECT numeric_send(12.50): 2 digits, weight 0, positive, scale 2: 0012 5000.
        let mut out = Vec::new();
        encode("12.50", &mut out).expect("encodes");
        assert_eq!(out, [0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x13, 0x88]);
    }

    #[test]
    fn mistakes_are_refused() {
        for text in ["", "abc", "1.2.3", "1e", "--1", "0x1"] {
            assert_eq!(encode(text, &mut Vec::new()), Err(NumericError::NotDecimal(text.into())), "{text}");
        }
        assert_eq!(decode(&[0, 1]), Err(NumericError::Malformed));
        assert_eq!(decode(&[0, 1, 0, 0, 0, 0, 0, 0]), Err(NumericError::Malformed), "a digit is missing");
    }
}

//! VietQR payloads: EMVCo merchant-presented QR as profiled by NAPAS (QR Switching v1.5.2, part
//! IV). A payload is a run of TLV fields (two-digit id, two-digit length, value) closed by a
//! CRC-16/CCITT-FALSE over everything before it, `6304` included.

use crc::{CRC_16_IBM_3740, Crc};

use crate::error::{Error, Result};

/// NAPAS's application id, field 38.00.
const NAPAS_GUID: &str = "A000000727";
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// Where the money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// A bank account: the bank's BIN (6 digits) and the account number.
    Account { bin: &'a str, account: &'a str },
    /// A card: the bank's BIN and the card number.
    Card { bin: &'a str, card: &'a str },
}

/// A payment request to show as a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub to: Destination<'a>,
    /// Amount in VND; `None` lets the payer type it (a static code).
    pub amount: Option<i64>,
    /// Field 62.08, the purpose of the transfer: our reconciliation key.
    pub purpose: Option<&'a str>,
}

fn tlv(out: &mut String, id: &str, value: &str) -> Result<()> {
    let len = value.len();
    if len > 99 {
        return Err(Error::invalid("vietqr", format!("field {id} is longer than 99 characters")));
    }
    out.push_str(id);
    out.push_str(&format!("{len:02}"));
    out.push_str(value);
    Ok(())
}

fn digits(field: &'static str, s: &str, lens: std::ops::RangeInclusive<usize>) -> Result<()> {
    if !lens.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(field, format!("{field} must be {} to {} digits", lens.start(), lens.end())));
    }
    Ok(())
}

/// The CRC field's value for `payload_up_to_6304`: four upper-case hex digits.
pub fn crc(payload_up_to_6304: &str) -> String {
    format!("{:04X}", CRC16.checksum(payload_up_to_6304.as_bytes()))
}

/// Builds the payload string for a request.
pub fn payload(r: &Request<'_>) -> Result<String> {
    let (bin, number, service) = match r.to {
        Destination::Account { bin, account } => (bin, account, "QRIBFTTA"),
        Destination::Card { bin, card } => (bin, card, "QRIBFTTC"),
    };
    digits("bin", bin, 6..=6)?;
    if number.is_empty() || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid("account", "an account or card number has 1 to 19 letters or digits"));
    }
    let mut beneficiary = String::new();
    tlv(&mut beneficiary, "00", bin)?;
    tlv(&mut beneficiary, "01", number)?;
    let mut merchant = String::new();
    tlv(&mut merchant, "00", NAPAS_GUID)?;
    tlv(&mut merchant, "01", &beneficiary)?;
    tlv(&mut merchant, "02", service)?;

    let mut out = String::new();
    tlv(&mut out, "00", "01")?;
    tlv(&mut out, "01", if r.amount.is_some() { "12" } else { "11" })?;
    tlv(&mut out, "38", &merchant)?;
    tlv(&mut out, "53", "704")?;
    if let Some(amount) = r.amount {
        if !(1..=9_999_999_999_999).contains(&amount) {
            return Err(Error::invalid("amount", "an amount is a positive number of đồng"));
        }
        tlv(&mut out, "54", &amount.to_string())?;
    }
    tlv(&mut out, "58", "VN")?;
    if let Some(purpose) = r.purpose {
        if purpose.is_empty() || purpose.len() > 25 || !purpose.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::invalid("purpose", "a transfer reference has 1 to 25 letters or digits"));
        }
        let mut extra = String::new();
        tlv(&mut extra, "08", purpose)?;
        tlv(&mut out, "62", &extra)?;
    }
    out.push_str("6304");
    let sum = crc(&out);
    out.push_str(&sum);
    Ok(out)
}

/// Reads a payload's top-level fields, checking the CRC: `(id, value)` in order, without 63.
pub fn parse(payload: &str) -> Result<Vec<(String, String)>> {
    let bad = |why: &str| Error::invalid("vietqr", format!("not a VietQR payload: {why}"));
    if payload.len() < 8 || !payload.is_ascii() {
        return Err(bad("too short"));
    }
    let (body, sum) = payload.split_at(payload.len() - 4);
    if !body.ends_with("6304") {
        return Err(bad("no CRC field at the end"));
    }
    if crc(body) != sum.to_ascii_uppercase() {
        return Err(bad("the CRC does not match"));
    }
    let mut fields = Vec::new();
    let mut rest = &body[..body.len() - 4];
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(bad("a field is cut short"));
        }
        let id = &rest[..2];
        let len: usize = rest[2..4].parse().map_err(|_| bad("a length is not a number"))?;
        let value = rest.get(4..4 + len).ok_or_else(|| bad("a field runs past the end"))?;
        fields.push((id.to_string(), value.to_string()));
        rest = &rest[4 + len..];
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn napas_test_vectors() {
        // Static, to account 0011012345678 at BIN 970403.
        let static_account = Request {
            to: Destination::Account { bin: "970403", account: "0011012345678" },
            amount: None,
            purpose: None,
        };
        let p = payload(&static_account).unwrap();
        assert_eq!(
            &p[..p.len() - 4],
            "00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN6304"
        );
        assert_eq!(&p[p.len() - 4..], crc(&p[..p.len() - 4]));
        // The CRC over NAPAS's published example string, exactly as published.
        assert_eq!(
            crc("00020101021138570010A00000072701270006970403011200110123456780208QRIBFTTA53037045802VN6304"),
            "F4E5"
        );
    }

    #[test]
    fn dynamic_codes_carry_amount_and_reference_and_parse_back() {
        let r = Request {
            to: Destination::Account { bin: "970436", account: "1234567890" },
            amount: Some(150_000),
            purpose: Some("Q10PAY7K3M9QX2"),
        };
        let p = payload(&r).unwrap();
        let fields = parse(&p).unwrap();
        let get = |id: &str| fields.iter().find(|(i, _)| i == id).map(|(_, v)| v.as_str());
        assert_eq!(get("01"), Some("12"));
        assert_eq!(get("54"), Some("150000"));
        assert_eq!(get("62"), Some("0814Q10PAY7K3M9QX2"));
        let mut tampered = p.clone();
        tampered.replace_range(p.find("150000").unwrap()..p.find("150000").unwrap() + 6, "950000");
        assert!(parse(&tampered).is_err(), "a changed amount breaks the CRC");
        assert!(payload(&Request { amount: Some(0), ..r.clone() }).is_err());
        assert!(payload(&Request { purpose: Some("has space"), ..r.clone() }).is_err());
        assert!(payload(&Request { to: Destination::Account { bin: "97043", account: "1" }, ..r }).is_err());
    }
}

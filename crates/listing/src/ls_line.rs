//! The `ls -l` lines that the xrdfs and gfal listers read: fields separated
//! by runs of spaces, then the name, which may itself hold spaces, and dates
//! as `YYYY-MM-DD HH:MM:SS` in UTC.

use crate::engine::DirEntry;

/// The `N` fields before the name, and the name: everything after the one
/// space that follows the last field, spaces included.
pub(crate) fn fields<const N: usize>(line: &[u8]) -> Option<([&[u8]; N], &[u8])> {
    let mut rest = line;
    let mut fields: [&[u8]; N] = [&[]; N];
    for field in &mut fields {
        let start = rest.iter().position(|&b| b != b' ')?;
        rest = &rest[start..];
        let end = rest.iter().position(|&b| b == b' ')?;
        *field = &rest[..end];
        rest = &rest[end..];
    }
    Some((fields, rest.strip_prefix(b" ")?))
}

/// The entry a line names, from its mode string (`drwxr-xr-x`), size field,
/// name and mtime; `None` for a name that is empty or holds a `/`, an unknown
/// entry type or a size that is not a number. Directories get size 0.
pub(crate) fn entry(perms: &[u8], size: &[u8], name: &[u8], mtime: i64) -> Option<DirEntry> {
    if name.is_empty() || name.contains(&b'/') {
        return None;
    }
    let is_dir = match perms.first()? {
        b'd' => true,
        b'-' | b'l' | b'p' | b's' | b'c' | b'b' => false,
        _ => return None,
    };
    let size: u64 = std::str::from_utf8(size).ok()?.parse().ok()?;
    Some(DirEntry { name: name.to_vec(), is_dir, size: if is_dir { 0 } else { size }, mtime })
}

/// `YYYY-MM-DD` and `HH:MM:SS` (seconds perhaps with a fraction) in UTC to unix seconds.
pub(crate) fn parse_utc(date: &[u8], time: &[u8]) -> Option<i64> {
    let num = |s: &[u8]| -> Option<i64> { std::str::from_utf8(s).ok()?.parse().ok() };
    let mut d = date.split(|&b| b == b'-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let mut t = time.split(|&b| b == b':');
    let (hh, mm) = (num(t.next()?)?, num(t.next()?)?);
    // seconds may carry a fraction (gfal's full-iso style)
    let ss = t.next().map_or(Some(0), |s| num(s.split(|&b| b == b'.').next()?))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86400 + hh * 3600 + mm * 60 + ss)
}

/// `+0000`, `-0130` to seconds east of UTC.
pub(crate) fn parse_zone(zone: &[u8]) -> Option<i64> {
    let (sign, digits) = match zone {
        [b'+', d @ ..] => (1, d),
        [b'-', d @ ..] => (-1, d),
        _ => return None,
    };
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(sign * ((n / 100) * 3600 + (n % 100) * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(parse_utc(b"1970-01-01", b"00:00:00"), Some(0));
        assert_eq!(parse_utc(b"2000-03-01", b"00:00:00"), Some(951868800));
        assert_eq!(parse_utc(b"2024-02-29", b"23:59:59.000000"), Some(1709251199));
        assert_eq!(parse_utc(b"1969-12-31", b"23:59:59"), Some(-1));
        assert_eq!(parse_utc(b"2024-13-01", b"00:00:00"), None);
        assert_eq!(parse_utc(b"2024-01-01", b"24:00:00"), None);
        assert_eq!(parse_utc(b"2024-01", b"00:00:00"), None);
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone(b"+0000"), Some(0));
        assert_eq!(parse_zone(b"+0100"), Some(3600));
        assert_eq!(parse_zone(b"-0130"), Some(-5400));
        assert_eq!(parse_zone(b"0100"), None);
        assert_eq!(parse_zone(b"+01:00"), None);
    }

    #[test]
    fn names_keep_their_spaces() {
        let (f, name) = fields::<3>(b"a  bb   c  two  spaces ").unwrap();
        assert_eq!(f, [&b"a"[..], b"bb", b"c"]);
        assert_eq!(name, b" two  spaces ");
        // too few fields, or none left for the name
        assert!(fields::<3>(b"a bb").is_none());
        assert!(fields::<3>(b"a bb c").is_none());
    }

    #[test]
    fn entries() {
        let e = entry(b"-rw-r--r--", b"3", b"f", 7).unwrap();
        assert_eq!(e, DirEntry { name: b"f".to_vec(), is_dir: false, size: 3, mtime: 7 });
        let e = entry(b"drwxr-xr-x", b"4096", b"d", 7).unwrap();
        assert_eq!((e.is_dir, e.size), (true, 0));
        assert!(entry(b"?rw-r--r--", b"3", b"f", 7).is_none());
        assert!(entry(b"-rw-r--r--", b"3k", b"f", 7).is_none());
        assert!(entry(b"-rw-r--r--", b"3", b"a/b", 7).is_none());
        assert!(entry(b"-rw-r--r--", b"3", b"", 7).is_none());
    }
}

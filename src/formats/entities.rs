//! References: XML's five, character references (the windows-1252 range read as HTML5 reads
//! it) and every HTML5 named entity, which feeds written by HTML tools use freely.

use std::borrow::Cow;

/// Windows-1252's characters for 0x80..=0x9F, which feeds write as `&#146;` and mean `’`
/// (HTML5 maps them the same way); 0 where windows-1252 has no character.
const CP1252_C1: [u32; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// Replaces the C1 control characters (U+0080 to U+009F) of decoded text with the windows-1252
/// characters of the same code (U+0092 becomes `’`), and drops the five that windows-1252
/// leaves undefined. Feeds carry them when windows-1252 text was labelled ISO-8859-1 or
/// transcoded as Latin-1; as controls they mean nothing, and validators flag them.
pub(super) fn c1_as_cp1252(text: Cow<'_, str>) -> Cow<'_, str> {
    // In UTF-8 they are 0xC2 followed by 0x80..=0x9F: a byte search, not a walk by char.
    let bytes = text.as_bytes();
    if !memchr::memchr_iter(0xC2, bytes).any(|i| matches!(bytes.get(i + 1), Some(0x80..=0x9F))) {
        return text;
    }
    text.chars()
        .filter_map(|c| match c {
            '\u{80}'..='\u{9F}' => {
                char::from_u32(CP1252_C1[c as usize - 0x80]).filter(|c| *c != '\0')
            }
            c => Some(c),
        })
        .collect::<String>()
        .into()
}

/// True for the characters XML 1.0 allows.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// What the reference `&name;` stands for: XML's five, a character reference, or any HTML5
/// named entity (feeds are written by HTML tools and use `&nbsp;`, `&eacute;`, `&hellip;`
/// freely). `None` for a name nobody defines. A character reference to something XML forbids
/// stands for nothing.
pub(super) fn resolve_ref(name: &str) -> Option<Cow<'static, str>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        let code = match code {
            Some(c @ 0x80..=0x9F) => Some(CP1252_C1[(c - 0x80) as usize]).filter(|c| *c != 0),
            other => other,
        };
        let c = code.and_then(char::from_u32).filter(|c| xml_char(*c));
        return Some(c.map_or(Cow::Borrowed(""), |c| Cow::Owned(c.to_string())));
    }
    let predefined = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    };
    if !predefined.is_empty() {
        return Some(Cow::Borrowed(predefined));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let reference = format!("&{name};");
    let decoded = html_escape::decode_html_entities(&reference);
    // html-escape also decodes legacy prefixes (`&notit;` as `¬it;`): only a whole match counts.
    (decoded != reference && !decoded.contains(';') && decoded.chars().count() <= 2)
        .then(|| Cow::Owned(decoded.into_owned()))
}

/// Resolves every reference in raw XML text (an attribute value) as [`resolve_ref`] does; an
/// unknown reference or a bare `&` stays as written.
pub(super) fn decode_refs(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let name_end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|j| j + 1);
        match name_end {
            Some(j) if rest[j..].starts_with(';') => match resolve_ref(&rest[1..j]) {
                Some(s) => {
                    out.push_str(&s);
                    rest = &rest[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_controls_read_as_windows_1252() {
        let s = c1_as_cp1252("don\u{92}t \u{80}5 a\u{81}b".into());
        assert_eq!(s, "don’t €5 ab");
        assert!(matches!(
            c1_as_cp1252("don’t".into()),
            Cow::Borrowed("don’t")
        ));
    }

    #[test]
    fn references() {
        assert_eq!(resolve_ref("eacute").as_deref(), Some("é"));
        assert_eq!(resolve_ref("#146").as_deref(), Some("’"));
        assert_eq!(resolve_ref("#x0").as_deref(), Some(""));
        assert_eq!(resolve_ref("notit"), None);
        assert_eq!(
            decode_refs("a &amp; b &shy;&bogus; & c"),
            "a & b \u{ad}&bogus; & c"
        );
    }
}

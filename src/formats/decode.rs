//! Decoding: the body's bytes to one UTF-8 string, the charset chosen in the order RFC 7303
//! and browsers use, with the exceptions the bytes themselves prove (see [`decode`]). The one
//! charset detection of every XML reader: feeds and OPML alike.

use std::borrow::Cow;

use encoding_rs::Encoding;
use oem_cp::code_table::DECODING_TABLE_CP_MAP;
use oem_cp::code_table_type::TableType;

use crate::formats::ParseError;

/// A charset syndic decodes: one of WHATWG's (`encoding_rs`), a DOS code page that WHATWG
/// lacks (437, 850, 852…: `oem_cp`'s tables; 856: `charcode`'s), or a classic Mac OS one
/// other than Roman and Cyrillic (Central European, Greek, Icelandic, Turkish: `mac-encoding`'s
/// tables, made from Apple's mapping files).
#[derive(Clone, Copy)]
enum Charset {
    Whatwg(&'static Encoding),
    Oem(&'static TableType),
    Mac(mac_encoding::Encoding),
    /// A code page only `charcode` has the table of (CP856).
    Charcode(&'static charcode::Encoding),
}

impl Charset {
    fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            Charset::Whatwg(enc) => enc.decode_without_bom_handling(bytes).0,
            Charset::Oem(table) => Cow::Owned(table.decode_string_lossy(bytes)),
            Charset::Mac(enc) => Cow::Owned(enc.decode(bytes)),
            // No BOM reaches here (one picks a WHATWG charset first), so `decode`'s BOM
            // sniffing never overrides the label.
            Charset::Charcode(enc) => enc.decode(bytes).0,
        }
    }

    fn is_utf16(self) -> bool {
        matches!(self, Charset::Whatwg(e) if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE)
    }
}

/// The charset a label names: WHATWG's labels first; then the names that Python's codecs
/// (and so feedparser) also accept for the same WHATWG charsets (`windows_1251`, `ms-ansi`,
/// `mac-cyrillic`…); then the classic Mac OS charsets by the names Python and IANA give them
/// (`maccentraleurope`, `mac_latin2`, `macgreek`, `x-mac-turkish`…); then the DOS code pages by
/// their IANA and IBM names (`437`, `cp850`, `ibm852`, `csPC8CodePage437`…). `None` for
/// anything else (VISCII, TCVN, KOI8-T, CP1125: no crate found has their tables; EBCDIC:
/// refused). CP856, which `oem_cp` lacks, is read with `charcode`'s table.
fn charset_for_label(label: &str) -> Option<Charset> {
    if let Some(e) = Encoding::for_label(label.as_bytes()) {
        return Some(Charset::Whatwg(e));
    }
    let l = label.trim().to_ascii_lowercase().replace('_', "-");
    let alias = match l.as_str() {
        "ms-ansi" => "windows-1252",
        "ms-arab" => "windows-1256",
        "ms-cyrl" => "windows-1251",
        "ms-ee" => "windows-1250",
        "ms-greek" => "windows-1253",
        "ms-hebr" => "windows-1255",
        "ms-turk" => "windows-1254",
        "winbaltrim" => "windows-1257",
        "mac-cyrillic" | "maccyrillic" => "x-mac-cyrillic",
        "macroman" | "mac-roman" => "macintosh",
        other => other,
    };
    if let Some(e) = Encoding::for_label(alias.as_bytes()) {
        return Some(Charset::Whatwg(e));
    }
    let mac = match l.as_str() {
        "maccentraleurope"
        | "mac-centeuro"
        | "maclatin2"
        | "mac-latin2"
        | "x-mac-ce"
        | "x-mac-centraleurroman" => Some(mac_encoding::Encoding::CentralEuropean),
        "macgreek" | "mac-greek" | "x-mac-greek" => Some(mac_encoding::Encoding::Greek),
        "maciceland" | "mac-iceland" | "x-mac-icelandic" => Some(mac_encoding::Encoding::Icelandic),
        "macturkish" | "mac-turkish" | "x-mac-turkish" => Some(mac_encoding::Encoding::Turkish),
        _ => None,
    };
    if let Some(enc) = mac {
        return Some(Charset::Mac(enc));
    }
    let number: u16 = match l.as_str() {
        "cspc8codepage437" => 437,
        "cspc850multilingual" => 850,
        "cspc862latinhebrew" => 862,
        "cspc775baltic" => 775,
        "cspcp852" => 852,
        "cp-is" => 861,
        _ => {
            let digits = l
                .strip_prefix("csibm")
                .or_else(|| l.strip_prefix("ibm"))
                .or_else(|| l.strip_prefix("cp"))
                .unwrap_or(&l);
            digits.parse().ok()?
        }
    };
    match DECODING_TABLE_CP_MAP.get(&number) {
        Some(table) => Some(Charset::Oem(table)),
        None if number == 856 => Some(Charset::Charcode(charcode::IBM856)),
        None => None,
    }
}

/// Decodes the body once, to UTF-8. The charset is chosen by precedence: a byte order mark, then
/// the `charset` of the HTTP Content-Type, then the XML declaration's `encoding`, then UTF-8.
/// That is RFC 7303's order: when the header and the prolog disagree (common: servers default
/// to ISO-8859-1 or UTF-8 whatever the file says), the header wins, as in every browser.
/// Exceptions, each because the bytes themselves prove the label wrong: UTF-16 without a BOM
/// is recognised by its zero bytes around `<?`; a UTF-16 label on a body without either is
/// ignored; and a body with no label anywhere that is not UTF-8 at all (no valid multi-byte
/// sequence) is read as windows-1252, as legacy feeds without a declaration mostly are.
/// Invalid bytes become U+FFFD. Labels are WHATWG's, so ISO-8859-1 reads as its superset
/// windows-1252. The declaration itself is dropped by the pre-pass, so nothing decodes twice.
/// C1 control characters left in the text are read as the windows-1252 characters they stand
/// for (`entities::c1_as_cp1252`).
pub(super) fn decode<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> Result<Cow<'a, str>, ParseError> {
    // Neither is in the WHATWG set that encoding_rs implements, and feeds are not written in
    // them in practice: say so rather than read NUL-riddled nonsense.
    match body {
        [0, 0, 0xFE, 0xFF, ..]
        | [0xFF, 0xFE, 0, 0, ..]
        | [0, 0, 0, b'<', ..]
        | [b'<', 0, 0, 0, ..] => {
            return Err(ParseError::Malformed(
                "the document is in UTF-32, which is not supported".into(),
            ));
        }
        [0x4C, 0x6F, 0xA7, 0x94, ..] => {
            return Err(ParseError::Malformed(
                "the document is in EBCDIC, which is not supported".into(),
            ));
        }
        _ => {}
    }
    let (charset, skip) = choose_charset(body, content_type);
    let bytes = &body[skip..];
    let text = match charset {
        Some(charset) => charset.decode(bytes),
        None => match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => {
                // Mostly UTF-8 with a stray bad byte stays UTF-8; no UTF-8 at all is legacy.
                let lossy = String::from_utf8_lossy(bytes);
                if lossy.chars().any(|c| !c.is_ascii() && c != '\u{fffd}') {
                    lossy
                } else {
                    encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(bytes)
                        .0
                }
            }
        },
    };
    // A second BOM (a UTF-8 one that was transcoded along) means nothing either.
    // Borrowed from the body when it is UTF-8 already: most feeds are copied no more.
    let text = match text {
        Cow::Borrowed(t) => Cow::Borrowed(t.strip_prefix('\u{feff}').unwrap_or(t)),
        Cow::Owned(t) => match t.strip_prefix('\u{feff}') {
            Some(rest) => Cow::Owned(rest.to_owned()),
            None => Cow::Owned(t),
        },
    };
    Ok(super::entities::c1_as_cp1252(text))
}

/// The charset to decode with (`None`: UTF-8 by default, nothing said) and the BOM's length.
fn choose_charset(body: &[u8], content_type: Option<&str>) -> (Option<Charset>, usize) {
    if let Some((enc, len)) = Encoding::for_bom(body) {
        return (Some(Charset::Whatwg(enc)), len);
    }
    match body {
        [b'<', 0, b'?', 0, ..] => return (Some(Charset::Whatwg(encoding_rs::UTF_16LE)), 0),
        [0, b'<', 0, b'?', ..] => return (Some(Charset::Whatwg(encoding_rs::UTF_16BE)), 0),
        _ => {}
    }
    let header = content_type
        .and_then(charset_param)
        .and_then(charset_for_label)
        .filter(|c| !c.is_utf16());
    if header.is_some() {
        return (header, 0);
    }
    let declared = declared_encoding(body)
        .as_deref()
        .and_then(charset_for_label)
        .filter(|c| !c.is_utf16());
    (declared, 0)
}

/// The `charset` parameter of a Content-Type value.
fn charset_param(ct: &str) -> Option<&str> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).trim())
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible body.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use crate::formats::fixtures::{read, read_ct, s, when};

    #[test]
    fn windows_1252_with_html_entities() {
        let f = read("cp1252-entities.xml");
        assert_eq!(s(&f.title), Some("Café crème & co"));
        let item = &f.items[0];
        // &nbsp; &hellip; and the windows-1252 reference &#146; all understood.
        assert_eq!(
            s(&item.title),
            Some("Crème brûlée\u{a0}: la recette… l’originale")
        );
        assert_eq!(s(&item.summary), Some("Le résumé élégant"));
        // Inside CDATA the entity is HTML's business: left as written, and the relative link
        // resolved against the feed URL.
        assert_eq!(
            s(&item.content_html),
            Some(
                r#"<p>Sucre&nbsp;&amp; crème, voir <a href="https://feeds.example/recettes/1">la fiche</a></p>"#
            )
        );
        assert_eq!(
            when(&item.date_published).as_deref(),
            Some("2025-09-16T18:30:00+02:00")
        );
    }

    #[test]
    fn koi8_r_from_the_declaration() {
        let f = read("koi8r.xml");
        assert_eq!(s(&f.title), Some("Новости"));
        assert_eq!(s(&f.items[0].title), Some("Привет, мир"));
        assert_eq!(
            when(&f.items[0].date_published).as_deref(),
            Some("2025-03-03T09:05:00+03:00")
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let f = read("utf16le-bom-atom.xml");
        assert_eq!(s(&f.title), Some("Über Ärger – 日本"));
        assert_eq!(s(&f.items[0].title), Some("Grüße"));
        assert_eq!(s(&f.items[0].summary), Some("Schön"));
        let f = read("utf16be-nobom-rss.xml");
        assert_eq!(s(&f.title), Some("Mañana"));
        assert_eq!(s(&f.items[0].title), Some("Señor"));
    }

    #[test]
    fn http_charset_beats_the_prolog() {
        let f = read_ct(
            "latin1-header-beats-prolog.xml",
            Some("application/rss+xml; charset=ISO-8859-1"),
        );
        assert_eq!(s(&f.title), Some("Français"));
        assert_eq!(s(&f.items[0].title), Some("Déjà vu"));
        // Without the header the prolog's UTF-8 is believed, and bad bytes are replaced.
        let f = read("latin1-header-beats-prolog.xml");
        assert_eq!(s(&f.title), Some("Fran\u{fffd}ais"));
    }

    #[test]
    fn euc_kr_and_netscape_entities() {
        let f = read("feedparser-euc-kr.xml");
        assert_eq!(s(&f.items[0].content_html), Some(r#"<img alt="년" />"#));
        let f = read("rss091-netscape.xml");
        assert_eq!(s(&f.items[0].title), Some("Lété à Paris — 30°C"));
        assert_eq!(
            s(&f.items[0].content_html),
            Some("Il fait très chaud\u{a0}!")
        );
    }

    /// A one-item RSS feed in `charset` whose title is the one byte 0x80, as feedparser's
    /// `encoding/x80_*.xml` tests have it.
    fn x80(label: &str) -> Option<String> {
        let mut doc = format!(
            "<?xml version=\"1.0\" encoding=\"{label}\"?><rss version=\"2.0\"><channel>\
             <title>"
        )
        .into_bytes();
        doc.push(0x80);
        doc.extend_from_slice(b"</title><item><title>t</title></item></channel></rss>");
        let url = url::Url::parse("https://feeds.example/").unwrap();
        crate::formats::parse_feed(&doc, None, &url).unwrap().title
    }

    #[test]
    fn dos_code_pages_and_python_charset_names() {
        for (label, expected) in [
            ("437", "\u{c7}"),
            ("cp437", "\u{c7}"),
            ("IBM437", "\u{c7}"),
            ("csPC8CodePage437", "\u{c7}"),
            ("cp850", "\u{c7}"),
            ("csPC850Multilingual", "\u{c7}"),
            ("cspcp852", "\u{c7}"),
            ("ibm855", "\u{452}"),
            ("csibm857", "\u{c7}"),
            ("cp862", "\u{5d0}"),
            ("cspc862latinhebrew", "\u{5d0}"),
            ("cp_is", "\u{c7}"),
            ("cspc775baltic", "\u{106}"),
            ("cp737", "\u{391}"),
            ("cp866", "\u{410}"),
            ("windows_1251", "\u{402}"),
            ("ms-ansi", "\u{20ac}"),
            ("ms-ee", "\u{20ac}"),
            ("winbaltrim", "\u{20ac}"),
            ("mac-cyrillic", "\u{410}"),
            ("macroman", "\u{c4}"),
        ] {
            assert_eq!(x80(label).as_deref(), Some(expected), "{label}");
        }
    }

    #[test]
    fn classic_mac_charsets() {
        // 0x80 is Ä in all four (feedparser's test); 0xE0 tells them apart.
        let title = |label: &str, byte: u8| {
            let mut doc = format!(
                "<?xml version=\"1.0\" encoding=\"{label}\"?><rss version=\"2.0\"><channel>\
                 <title>"
            )
            .into_bytes();
            doc.extend_from_slice(&[0x80, byte]);
            doc.extend_from_slice(b"</title></channel></rss>");
            let url = url::Url::parse("https://feeds.example/").unwrap();
            crate::formats::parse_feed(&doc, None, &url).unwrap().title
        };
        for (label, expected) in [
            ("maccentraleurope", "\u{c4}\u{157}"),
            ("maclatin2", "\u{c4}\u{157}"),
            ("mac_latin2", "\u{c4}\u{157}"),
            ("macgreek", "\u{c4}\u{3cd}"),
            ("x-mac-greek", "\u{c4}\u{3cd}"),
            ("maciceland", "\u{c4}\u{fd}"),
            ("MacTurkish", "\u{c4}\u{2021}"),
        ] {
            assert_eq!(title(label, 0xE0).as_deref(), Some(expected), "{label}");
        }
    }

    #[test]
    fn charsets_no_crate_has_are_not_guessed() {
        // VISCII has no well-kept table: the byte is no UTF-8, so the legacy fallback reads
        // it as windows-1252, as before.
        assert_eq!(x80("viscii").as_deref(), Some("\u{20ac}"));
    }

    #[test]
    fn cp856_from_charcode() {
        // Hebrew on the DOS code page 856 (feedparser's x80_cp856 test): 0x80 is alef.
        for label in ["cp856", "IBM856", "856"] {
            assert_eq!(x80(label).as_deref(), Some("\u{5d0}"), "{label}");
        }
    }
}

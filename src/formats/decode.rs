//! Decoding: the body's bytes to one UTF-8 string, the charset chosen in the order RFC 7303
//! and browsers use, with the exceptions the bytes themselves prove (see [`decode`]). The one
//! charset detection of every XML reader: feeds and OPML alike.

use std::borrow::Cow;

use encoding_rs::Encoding;
use oem_cp::code_table::DECODING_TABLE_CP_MAP;
use oem_cp::code_table_type::TableType;

use crate::formats::ParseError;

/// A charset syndic decodes: one of WHATWG's (`encoding_rs`), a DOS code page that WHATWG
/// lacks (437, 850, 852…: `oem_cp`'s tables; 856: `charcode`'s), a classic Mac OS one
/// other than Roman and Cyrillic (Central European, Greek, Icelandic, Turkish: `mac-encoding`'s
/// tables, made from Apple's mapping files), UTF-32 or an EBCDIC code page (`charcode`'s).
#[derive(Clone, Copy)]
enum Charset {
    Whatwg(&'static Encoding),
    Oem(&'static TableType),
    Mac(mac_encoding::Encoding),
    /// A charset only `charcode` has the table of (CP856, UTF-32BE and LE).
    Charcode(&'static charcode::Encoding),
    /// An EBCDIC code page (037, 424, 500, 875, 1026: `charcode`'s tables). `euro`: IBM's
    /// 1140 and 1148, which are 037 and 500 with `€` in place of `¤` (byte 0x9F, their only
    /// difference).
    Ebcdic {
        table: &'static charcode::Encoding,
        euro: bool,
    },
}

impl Charset {
    fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            Charset::Whatwg(enc) => enc.decode_without_bom_handling(bytes).0,
            Charset::Oem(table) => Cow::Owned(table.decode_string_lossy(bytes)),
            Charset::Mac(enc) => Cow::Owned(enc.decode(bytes)),
            // Told not to look for a BOM: `charcode` knows only UTF-8 and UTF-16 marks, and
            // would read UTF-32LE's `FF FE 00 00` as UTF-16LE's (a UTF-32 BOM is skipped
            // before this).
            Charset::Charcode(enc) => enc.decode_with(bytes, no_bom()).0,
            Charset::Ebcdic { table, euro } => {
                let text = table.decode_with(bytes, no_bom()).0;
                // Mainframe text ends its lines with NEL (0x15, U+0085), which XML 1.0 does
                // not read as a line end, and which `c1_as_cp1252` would read as `…`.
                let text = text.replace('\u{85}', "\n");
                Cow::Owned(if euro {
                    text.replace('\u{a4}', "\u{20ac}")
                } else {
                    text
                })
            }
        }
    }

    /// False for the charsets in which `<?xml` is not its ASCII bytes: UTF-16, UTF-32 and
    /// EBCDIC. Those are chosen only when the first bytes of the body prove them (see
    /// [`choose_charset`]); a label naming one on an ASCII-looking body is wrong.
    fn ascii_compatible(self) -> bool {
        match self {
            Charset::Whatwg(e) => e != encoding_rs::UTF_16LE && e != encoding_rs::UTF_16BE,
            Charset::Charcode(e) => e.is_ascii_compatible(),
            Charset::Ebcdic { .. } => false,
            Charset::Oem(_) | Charset::Mac(_) => true,
        }
    }
}

fn no_bom() -> charcode::DecodeOptions {
    charcode::DecodeOptions::new().bom(charcode::Bom::Ignore)
}

/// The EBCDIC code page a label names, by the names IANA and Python give them (`cp037`,
/// `IBM500`, `ebcdic-cp-us`, `csIBM1026`…, `charcode`'s label table, which also names UTF-7
/// and others that a remote label must never select: only EBCDIC answers are taken from it),
/// plus two it lacks: Python's `ibm039` (037) and IBM's euro variants 1140 and 1148.
fn ebcdic_for_label(label: &str) -> Option<Charset> {
    let euro = |table| Some(Charset::Ebcdic { table, euro: true });
    match label {
        "ibm039" | "cp039" => {
            return Some(Charset::Ebcdic {
                table: charcode::IBM037,
                euro: false,
            });
        }
        "cp1140" | "ibm1140" | "ccsid01140" | "ebcdic-us-37+euro" => return euro(charcode::IBM037),
        "cp1148" | "ibm1148" | "ccsid01148" | "ebcdic-international-500+euro" => {
            return euro(charcode::IBM500);
        }
        _ => {}
    }
    let table = charcode::Encoding::for_label(label.as_bytes())?;
    [
        charcode::IBM037,
        charcode::IBM424,
        charcode::IBM500,
        charcode::IBM875,
        charcode::IBM1026,
    ]
    .contains(&table)
    .then_some(Charset::Ebcdic { table, euro: false })
}

/// The charset a label names: WHATWG's labels first; then the names that Python's codecs
/// (and so feedparser) also accept for the same WHATWG charsets (`windows_1251`, `ms-ansi`,
/// `mac-cyrillic`…); then the classic Mac OS charsets by the names Python and IANA give them
/// (`maccentraleurope`, `mac_latin2`, `macgreek`, `x-mac-turkish`…); then the DOS code pages by
/// their IANA and IBM names (`437`, `cp850`, `ibm852`, `csPC8CodePage437`…); then the EBCDIC
/// code pages ([`ebcdic_for_label`]). `None` for anything else (VISCII, TCVN, KOI8-T, CP1125:
/// no crate found has their tables). CP856, which `oem_cp` lacks, is read with `charcode`'s
/// table.
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
    if let Some(ebcdic) = ebcdic_for_label(&l) {
        return Some(ebcdic);
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
/// is recognised by its zero bytes around `<?`, UTF-32 by its BOM or the zero bytes around
/// `<`, EBCDIC by `<?xm` in EBCDIC (XML 1.0, appendix F); a label naming one of those on a
/// body that does not start that way is ignored; and a body with no label anywhere that is not UTF-8 at all (no valid multi-byte
/// sequence) is read as windows-1252, as legacy feeds without a declaration mostly are.
/// Invalid bytes become U+FFFD. Labels are WHATWG's, so ISO-8859-1 reads as its superset
/// windows-1252. The declaration itself is dropped by the pre-pass, so nothing decodes twice.
/// C1 control characters left in the text are read as the windows-1252 characters they stand
/// for (`entities::c1_as_cp1252`).
pub(super) fn decode<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
) -> Result<Cow<'a, str>, ParseError> {
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
    // UTF-32 first: its little-endian BOM starts with UTF-16LE's.
    let utf32 = |enc| Some(Charset::Charcode(enc));
    match body {
        [0, 0, 0xFE, 0xFF, ..] => return (utf32(charcode::UTF_32BE), 4),
        [0xFF, 0xFE, 0, 0, ..] => return (utf32(charcode::UTF_32LE), 4),
        [0, 0, 0, b'<', ..] => return (utf32(charcode::UTF_32BE), 0),
        [b'<', 0, 0, 0, ..] => return (utf32(charcode::UTF_32LE), 0),
        _ => {}
    }
    if let Some((enc, len)) = Encoding::for_bom(body) {
        return (Some(Charset::Whatwg(enc)), len);
    }
    match body {
        [b'<', 0, b'?', 0, ..] => return (Some(Charset::Whatwg(encoding_rs::UTF_16LE)), 0),
        [0, b'<', 0, b'?', ..] => return (Some(Charset::Whatwg(encoding_rs::UTF_16BE)), 0),
        [0x4C, 0x6F, 0xA7, 0x94, ..] => return (Some(ebcdic_charset(body, content_type)), 0),
        _ => {}
    }
    let header = content_type
        .and_then(charset_param)
        .and_then(charset_for_label)
        .filter(|c| c.ascii_compatible());
    if header.is_some() {
        return (header, 0);
    }
    let declared = declared_encoding(body)
        .as_deref()
        .and_then(charset_for_label)
        .filter(|c| c.ascii_compatible());
    (declared, 0)
}

/// The EBCDIC code page of a body that starts with `<?xm` in EBCDIC: the HTTP header's when it
/// names one, else the XML declaration's, else 037. The declaration is read with code page
/// 037, whose letters, digits and punctuation are those of every EBCDIC page here but 1026's
/// `"` (0xFC there, 0x7F in the others), so with 1026 when 037 finds no quoted encoding.
fn ebcdic_charset(body: &[u8], content_type: Option<&str>) -> Charset {
    let ebcdic =
        |label: &str| charset_for_label(label).filter(|c| matches!(c, Charset::Ebcdic { .. }));
    let head = &body[..body.len().min(512)];
    let declared = || {
        [charcode::IBM037, charcode::IBM1026]
            .iter()
            .find_map(|table| {
                let head = table.decode_with(head, no_bom()).0;
                declared_encoding(head.as_bytes())
                    .as_deref()
                    .and_then(ebcdic)
            })
    };
    content_type
        .and_then(charset_param)
        .and_then(ebcdic)
        .or_else(declared)
        .unwrap_or(Charset::Ebcdic {
            table: charcode::IBM037,
            euro: false,
        })
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

    /// An RSS document written in an EBCDIC code page by `charcode`'s encoder, as feedparser's
    /// `encoding/x80_*.xml` tests have them: the declaration names `label`, and the channel
    /// title is `title` (raw bytes, spliced in after encoding).
    fn ebcdic(label: &str, table: &'static charcode::Encoding, title: &[u8]) -> Vec<u8> {
        let doc = |s: &str| table.encode(s).unwrap().0.into_owned();
        let mut bytes = doc(&format!(
            "<?xml version=\"1.0\" encoding=\"{label}\"?>\n<rss version=\"2.0\"><channel><title>"
        ));
        bytes.extend_from_slice(title);
        bytes.extend(doc(
            "</title><link>https://feeds.example/</link>\n<item><title>Un &amp; deux</title>\
             <link>https://feeds.example/1</link><description>a b</description></item>\
             </channel></rss>\n",
        ));
        bytes
    }

    fn parse(doc: &[u8], content_type: Option<&str>) -> crate::formats::UpstreamFeed {
        let url = url::Url::parse("https://feeds.example/").unwrap();
        crate::formats::parse_feed(doc, content_type, &url).unwrap()
    }

    /// feedparser's 21 EBCDIC tests: byte 0x80 under every label they use, and the bytes that
    /// tell the code pages apart (expected characters from Python's codecs).
    #[test]
    fn ebcdic_code_pages_by_every_label() {
        let (us, intl, greek, turkish, hebrew) = (
            charcode::IBM037,
            charcode::IBM500,
            charcode::IBM875,
            charcode::IBM1026,
            charcode::IBM424,
        );
        for (label, table, title, expected) in [
            ("cp037", us, &[0x80, 0x4A][..], "Ø¢"),
            ("ibm037", us, &[0x80], "Ø"),
            ("IBM039", us, &[0x80], "Ø"),
            ("csibm037", us, &[0x80], "Ø"),
            ("ebcdic-cp-us", us, &[0x80], "Ø"),
            ("ebcdic_cp_ca", us, &[0x80], "Ø"),
            ("ebcdic-cp-wt", us, &[0x80], "Ø"),
            ("ebcdic_cp_nl", us, &[0x80], "Ø"),
            ("cp500", intl, &[0x80, 0x4A, 0x5A], "Ø[]"),
            ("ibm500", intl, &[0x80], "Ø"),
            ("csibm500", intl, &[0x80], "Ø"),
            ("ebcdic-cp-be", intl, &[0x80], "Ø"),
            ("ebcdic_cp_ch", intl, &[0x80], "Ø"),
            ("cp875", greek, &[0x80, 0x41], "\u{385}Α"),
            ("cp1026", turkish, &[0x80, 0x4A, 0x5A], "ØÇĞ"),
            ("cp424", hebrew, &[0x41, 0x71], "את"),
            ("ebcdic-cp-he", hebrew, &[0x41], "א"),
            // 037 and 500 with the euro sign where they have ¤.
            ("ibm1140", us, &[0x80, 0x9F], "Ø€"),
            ("cp1148", intl, &[0x4A, 0x9F], "[€"),
            ("cp037", us, &[0x9F], "¤"),
        ] {
            let f = parse(&ebcdic(label, table, title), None);
            assert_eq!(s(&f.title), Some(expected), "{label}");
            assert_eq!(s(&f.items[0].title), Some("Un & deux"), "{label}");
            assert_eq!(
                f.items[0].url.as_deref(),
                Some("https://feeds.example/1"),
                "{label}"
            );
        }
    }

    #[test]
    fn ebcdic_header_line_ends_and_mislabels() {
        // The HTTP header's EBCDIC charset wins over the declaration's, as for any charset.
        let doc = ebcdic("cp037", charcode::IBM037, &[0x4A]);
        let f = parse(&doc, Some("application/rss+xml; charset=ibm500"));
        assert_eq!(s(&f.title), Some("["));
        // A header naming an ASCII charset cannot be right about an EBCDIC body.
        let f = parse(&doc, Some("application/rss+xml; charset=utf-8"));
        assert_eq!(s(&f.title), Some("¢"));
        // No label that names EBCDIC: 037.
        let doc = ebcdic("bogus", charcode::IBM037, &[0x4A]);
        assert_eq!(s(&parse(&doc, None).title), Some("¢"));
        // NEL (0x15) ends a line, as in mainframe text; it is not `…`.
        let doc = ebcdic("cp037", charcode::IBM037, &[0xC1, 0x15, 0xC2]);
        assert_eq!(s(&parse(&doc, None).title), Some("A B"));
        // An ASCII body labelled EBCDIC is read as what its bytes are.
        let doc = b"<?xml version=\"1.0\" encoding=\"cp037\"?><rss version=\"2.0\"><channel>\
                    <title>Caf\xc3\xa9</title></channel></rss>";
        assert_eq!(s(&parse(doc, None).title), Some("Café"));
        let f = parse(doc, Some("application/rss+xml; charset=ebcdic-cp-us"));
        assert_eq!(s(&f.title), Some("Café"));
    }

    /// UTF-32 in both byte orders, with and without a BOM (feedparser's `utf-32*`, `ucs-4`
    /// tests): recognised by its bytes, whatever the labels say.
    #[test]
    fn utf32_by_its_bytes() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-32\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
                    <title>Über 😀</title><entry><id>https://feeds.example/1</id>\
                    <title>Grüße</title></entry></feed>";
        for big_endian in [true, false] {
            for bom in [true, false] {
                let unit = |c: char| {
                    let n = c as u32;
                    if big_endian {
                        n.to_be_bytes()
                    } else {
                        n.to_le_bytes()
                    }
                };
                let mut doc: Vec<u8> = Vec::new();
                if bom {
                    doc.extend(unit('\u{feff}'));
                }
                doc.extend(text.chars().flat_map(unit));
                let f = parse(&doc, Some("application/atom+xml; charset=utf-8"));
                assert_eq!(s(&f.title), Some("Über 😀"), "{big_endian} {bom}");
                assert_eq!(s(&f.items[0].title), Some("Grüße"), "{big_endian} {bom}");
                // Cut in the middle of a character: the rest is still read, no panic.
                doc.truncate(doc.len() - 2);
                let url = url::Url::parse("https://feeds.example/").unwrap();
                let _ = crate::formats::parse_feed(&doc, None, &url);
            }
        }
    }

    #[test]
    fn cp856_from_charcode() {
        // Hebrew on the DOS code page 856 (feedparser's x80_cp856 test): 0x80 is alef.
        for label in ["cp856", "IBM856", "856"] {
            assert_eq!(x80(label).as_deref(), Some("\u{5d0}"), "{label}");
        }
    }
}

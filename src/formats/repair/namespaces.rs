//! Vocabularies: which namespace an element is in, whatever prefix the document gave it, and
//! so the name it is written under.

/// Which vocabulary an element belongs to, which decides the name it is written under.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ns {
    /// No namespace, or one of RSS's own.
    Core,
    Atom,
    Atom03,
    Xhtml,
    /// A module the readers know by prefix: `dc`, `content`, `media`, ...
    Ext(&'static str),
    Foreign,
}

pub(super) const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
const NS_ATOM03: &str = "http://purl.org/atom/ns#";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub(super) const NS_RSS1: &str = "http://purl.org/rss/1.0/";

/// The modules the `rss` and `atom_syndication` crates (and the mappings of what they return)
/// find by prefix, so every document gets them under these prefixes, whatever it called them.
pub(super) const EXT_NAMESPACES: &[(&str, &str)] = &[
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("media", "http://search.yahoo.com/mrss/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("rdf", NS_RDF),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
];

const RSS_NAMESPACES: &[&str] = &[
    NS_RSS1,
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://backend.userland.com/rss2",
    "http://blogs.law.harvard.edu/tech/rss",
];

pub(super) fn ns_of_uri(uri: &str) -> Ns {
    let u = uri.trim().trim_end_matches('/');
    let same = |n: &str| n.trim_end_matches('/') == u;
    if same(NS_ATOM) {
        Ns::Atom
    } else if same(NS_ATOM03) {
        Ns::Atom03
    } else if same("http://www.w3.org/1999/xhtml") {
        Ns::Xhtml
    } else if RSS_NAMESPACES.iter().any(|n| same(n)) {
        Ns::Core
    } else if let Some((p, _)) = EXT_NAMESPACES.iter().find(|(_, n)| same(n)) {
        Ns::Ext(p)
    } else {
        Ns::Foreign
    }
}

/// A prefix nobody declared: the usual ones are taken to mean what they always mean.
pub(super) fn ns_of_prefix(prefix: &str) -> Ns {
    match prefix {
        "atom" => Ns::Atom,
        "xhtml" => Ns::Xhtml,
        p => EXT_NAMESPACES
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(Ns::Foreign, |(q, _)| Ns::Ext(q)),
    }
}

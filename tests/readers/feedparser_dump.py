#!/usr/bin/env python3
"""Reads a feed the way Python feed readers do, and prints what they see as JSON.

    feedparser_dump.py URL_OR_FILE             parse with feedparser (RSS, Atom)
    feedparser_dump.py --jsonfeed URL_OR_FILE  load with json and check the JSON Feed 1.1 rules

feedparser does not read JSON Feed (6.0.x knows RSS, RDF, CDF and Atom only), so feed.json
is checked with the standard library's json module against the spec's required fields
instead (https://www.jsonfeed.org/version/1.1/).

URLs are fetched with urllib, from 127.0.0.1 or localhost only, with no proxy. Anything else
is read as a file. The output is one JSON object on stdout; time.struct_time values become
ISO 8601 strings in UTC (feedparser's *_parsed dates are always UTC).
"""

import calendar
import json
import sys
import time
import urllib.parse
import urllib.request


def fetch(target):
    """The body and the response headers of a loopback URL, or the bytes of a file."""
    parts = urllib.parse.urlsplit(target)
    if parts.scheme in ("http", "https"):
        if parts.hostname not in ("127.0.0.1", "localhost"):
            sys.exit(f"feedparser_dump: only 127.0.0.1 URLs are fetched, not {target}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(target, timeout=30) as resp:
            return resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    with open(target, "rb") as f:
        return f.read(), {}


def plain(value):
    """FeedParserDict, struct_time and the rest as plain JSON values."""
    if isinstance(value, time.struct_time):
        stamp = calendar.timegm(value)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def dump_feedparser(target):
    import feedparser

    body, headers = fetch(target)
    kwargs = {}
    if headers:
        # As if feedparser had fetched it: the HTTP charset, and the URL as the base.
        kwargs["response_headers"] = dict(headers, **{"content-location": target})
    d = feedparser.parse(body, **kwargs)
    # The same bytes without feedparser's HTML sanitizer and URL resolver, which re-serialize
    # markup (attributes sorted, void elements closed): what the feed itself carried.
    raw = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False, **kwargs)
    out = {
        "feedparser_version": feedparser.__version__,
        "bozo": bool(d.bozo),
        "bozo_exception": repr(d.get("bozo_exception")) if d.bozo else None,
        "version": d.version,
        "encoding": d.get("encoding"),
        "namespaces": plain(d.namespaces),
        "feed": plain(d.feed),
        # `enclosures` is computed from `links` on access, so it is asked for by name.
        "entries": [dict(plain(e), enclosures=plain(e.get("enclosures", []))) for e in d.entries],
        "raw_entries": [
            {"content": [c.value for c in e.get("content", [])], "summary": e.get("summary")}
            for e in raw.entries
        ],
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)


RFC3339_HINT = "an RFC 3339 date with a zone"


def check_jsonfeed(doc):
    """The JSON Feed 1.1 rules a reader relies on; returns a list of violations."""
    from datetime import datetime

    errors = []

    def is_str(v):
        return isinstance(v, str)

    def check_date(where, v):
        if not is_str(v):
            errors.append(f"{where}: not a string")
            return
        try:
            parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"{where}: {v!r} is not {RFC3339_HINT}")
            return
        if parsed.tzinfo is None or "T" not in v:
            errors.append(f"{where}: {v!r} is not {RFC3339_HINT}")

    def check_url(where, v):
        if not is_str(v) or not urllib.parse.urlsplit(v).scheme:
            errors.append(f"{where}: {v!r} is not an absolute URL")

    def check_authors(where, authors):
        if not isinstance(authors, list):
            errors.append(f"{where}: not an array")
            return
        for i, a in enumerate(authors):
            if not isinstance(a, dict) or not any(k in a for k in ("name", "url", "avatar")):
                errors.append(f"{where}[{i}]: an author needs a name, url or avatar")

    if not isinstance(doc, dict):
        return ["the document is not an object"]
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        errors.append(f"version: {doc.get('version')!r}")
    if not is_str(doc.get("title")) or not doc["title"].strip():
        errors.append("title: required")
    for key in ("home_page_url", "feed_url", "icon", "favicon", "next_url"):
        if key in doc:
            check_url(key, doc[key])
    if "authors" in doc:
        check_authors("authors", doc["authors"])
    if "language" in doc and not is_str(doc["language"]):
        errors.append("language: not a string")
    items = doc.get("items")
    if not isinstance(items, list):
        return errors + ["items: required array"]
    seen = set()
    for i, item in enumerate(items):
        at = f"items[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{at}: not an object")
            continue
        if not is_str(item.get("id")) or not item["id"]:
            errors.append(f"{at}.id: required string")
        elif item["id"] in seen:
            errors.append(f"{at}.id: {item['id']!r} is not unique")
        else:
            seen.add(item["id"])
        if not any(is_str(item.get(k)) for k in ("content_html", "content_text")):
            errors.append(f"{at}: content_html or content_text is required")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item:
                check_url(f"{at}.{key}", item[key])
        for key in ("title", "summary", "content_html", "content_text", "language"):
            if key in item and not is_str(item[key]):
                errors.append(f"{at}.{key}: not a string")
        for key in ("date_published", "date_modified"):
            if key in item:
                check_date(f"{at}.{key}", item[key])
        if "authors" in item:
            check_authors(f"{at}.authors", item["authors"])
        if "tags" in item and not (
            isinstance(item["tags"], list) and all(is_str(t) for t in item["tags"])
        ):
            errors.append(f"{at}.tags: not an array of strings")
        for j, att in enumerate(item.get("attachments", [])):
            where = f"{at}.attachments[{j}]"
            if not isinstance(att, dict):
                errors.append(f"{where}: not an object")
                continue
            check_url(f"{where}.url", att.get("url"))
            if not is_str(att.get("mime_type")) or "/" not in att["mime_type"]:
                errors.append(f"{where}.mime_type: required")
            for key in ("size_in_bytes", "duration_in_seconds"):
                if key in att and (not isinstance(att[key], (int, float)) or isinstance(att[key], bool)):
                    errors.append(f"{where}.{key}: not a number")
    return errors


def dump_jsonfeed(target):
    body, headers = fetch(target)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"duplicate keys {sorted(dup)}")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    try:
        doc = json.loads(
            body.decode("utf-8"),  # RFC 8259: JSON exchanged between systems is UTF-8
            object_pairs_hook=no_duplicates,
            parse_constant=no_constants,
        )
    except ValueError as e:
        json.dump({"json_error": str(e)}, sys.stdout)
        return
    out = {
        "content_type": headers.get("content-type"),
        "errors": check_jsonfeed(doc),
        "feed": doc,
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "--jsonfeed":
        dump_jsonfeed(argv[2])
    elif len(argv) == 2 and not argv[1].startswith("-"):
        dump_feedparser(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

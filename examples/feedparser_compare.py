#!/usr/bin/env python3
"""feedparser_compare.py DIR SYNDIC.jsonl [--diff OUT.tsv]

Sets syndic's reading of a corpus beside feedparser's (the reference readers are measured
against; docs/parser-eval.md). SYNDIC.jsonl is what `parser_eval DIR --dump` wrote: per file,
the items `parse_feed` reads that a reader would show, and their titles.

For every file feedparser.parse(bytes) runs with the file's `Header: Content-type` comment as
the HTTP header (as syndic's harness does). Items are feedparser's entries; titles are compared
as text (feedparser keeps HTML titles as sanitized HTML: tags are stripped and entities decoded,
and white space collapsed on both sides), item by item, where both read the same number of items
and feedparser's entry has a title. Prints the figures as Markdown and, with --diff, one line per
differing file (path, feedparser items, syndic items, first differing title pair).
"""
import html
import json
import os
import re
import sys


def text(s):
    if s is None:
        return None
    s = html.unescape(re.sub(r"<[^>]*>", "", s))
    return " ".join(s.split()) or None


def main():
    args = sys.argv[1:]
    diff_out = None
    if "--diff" in args:
        i = args.index("--diff")
        diff_out = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, dump = args
    import feedparser

    files = with_items = same_items = 0
    titles = same_titles = 0
    more = fewer = 0
    # Files whose count differs only because syndic leaves out items with nothing to show
    # (no title, no content, no link): feedparser counts them, ingest refuses them.
    nothing_to_show = 0
    diffs = []
    for line in open(dump, encoding="utf-8"):
        s = json.loads(line)
        path = os.path.join(root, s["path"])
        data = open(path, "rb").read()
        headers = {}
        if s.get("content_type"):
            headers["content-type"] = s["content_type"]
        fp = feedparser.parse(data, response_headers=headers)
        fp_items = len(fp.entries)
        files += 1
        if fp_items == 0 and s["items"] == 0:
            continue
        with_items += 1
        first = ""
        if fp_items == s["items"]:
            same_items += 1
            for e, t in zip(fp.entries, s["titles"]):
                detail = e.get("title_detail") or {}
                ft = e.get("title")
                # feedparser keeps HTML titles as HTML and plain ones as text.
                ft = " ".join(ft.split()) or None if detail.get("type") == "text/plain" and ft else text(ft)
                if ft is None:
                    continue
                titles += 1
                # syndic's titles are plain text already: only white space to collapse.
                if ft == (" ".join(t.split()) if t else None):
                    same_titles += 1
                elif not first:
                    first = f"{ft!r} / {t!r}"
        elif s["items"] > fp_items:
            more += 1
        else:
            fewer += 1
            if s.get("drafts") == fp_items:
                nothing_to_show += 1
        if fp_items != s["items"] or first:
            diffs.append(f"{s['path']}\t{fp_items}\t{s.get('drafts')}\t{s['items']}\t{first}")
    print(f"| files | files with items (either) | same item count | syndic more | syndic fewer | titles compared | same title |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {files:,} | {with_items:,} | {same_items:,} ({100 * same_items / max(with_items, 1):.1f}%) "
        f"| {more} | {fewer} | {titles:,} | {same_titles:,} ({100 * same_titles / max(titles, 1):.1f}%) |"
    )
    print(
        f"\nOf the {fewer} files where syndic shows fewer items, {nothing_to_show} differ only by "
        f"items with nothing to show (syndic read as many items as feedparser); counting those "
        f"as equal: {100 * (same_items + nothing_to_show) / max(with_items, 1):.1f}% of files with items."
    )
    if diff_out:
        with open(diff_out, "w", encoding="utf-8") as f:
            f.write("path\tfeedparser_items\tsyndic_read\tsyndic_shown\tfirst_title_difference\n")
            f.write("\n".join(diffs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env node
// feed_npm.mjs FEEDJSON N RUNS
//
// Peer benchmark: the npm `feed` package (https://github.com/jpmonette/feed) rendering the same
// articles syndic renders. Reads a JSON Feed 1.1 document, takes its first N items, builds one
// `Feed` (not timed), then times ONLY the render calls rss2(), atom1() and json1() with
// process.hrtime.bigint(): WARMUP un-timed rounds first, then RUNS timed rounds (the three
// formats interleaved in each round). Progress goes to stderr; the last stdout line is JSON:
// {"tool":"npm feed","version":..,"items":N,"rss_ms":median,"atom_ms":median,"json_ms":median,
//  "runs":{"rss_ms":[..],"atom_ms":[..],"json_ms":[..]},"bytes":{"rss":..,"atom":..,"json":..}}
//
// Mapping (JSON Feed item -> feed Item): id -> guid, and -> id (as is if it is an IRI, else
// urn:jsonfeed:<id>), url -> link, title -> title,
// summary -> description, content_html (or content_text) -> content, date_modified -> date
// (falls back to date_published, which the package requires), date_published -> published,
// authors -> author[] (name, url -> link, avatar), _syndic.contributors -> contributor[],
// tags -> category[{name, term}], image -> image, attachments[0] -> enclosure (url, mime_type ->
// type, size_in_bytes -> length, title, duration_in_seconds -> duration). Relative URLs are
// resolved against home_page_url (the package calls new URL() on enclosure URLs). Package
// limits: rss2() writes one <enclosure> and the image replaces the attachment; json1() writes
// JSON Feed 1.0 with one author and no attachments; atom1() types an enclosure
// `image/<extension>` whatever its MIME type.
// Environment: WARMUP (default 5) un-timed rounds; DUMP=1 prints the start of each rendering to
// stderr (to eyeball the mapping).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const die = (msg) => { process.stderr.write(`feed_npm.mjs: ${msg}\n`); process.exit(1); };
const [file, nArg, runsArg] = process.argv.slice(2);
if (!file || !nArg || !runsArg) die("usage: node feed_npm.mjs FEEDJSON N RUNS");
const N = Number.parseInt(nArg, 10);
const RUNS = Number.parseInt(runsArg, 10);
if (!(N > 0) || !(RUNS > 0)) die("N and RUNS must be positive integers");
const WARMUP = Number.parseInt(process.env.WARMUP ?? "5", 10);

let Feed, version;
try {
  ({ Feed } = await import("feed"));
  const require = createRequire(import.meta.url);
  // "exports" hides feed/package.json: find it from the resolved entry point (lib/feed.js).
  const pkg = join(dirname(dirname(require.resolve("feed"))), "package.json");
  version = JSON.parse(readFileSync(pkg, "utf8")).version;
} catch (e) {
  die(`the npm package 'feed' is missing (run benches/peers/setup.sh): ${e.message}`);
}

let doc;
try { doc = JSON.parse(readFileSync(file, "utf8")); } catch (e) { die(`cannot read ${file}: ${e.message}`); }
if (!Array.isArray(doc.items)) die(`${file}: no items array`);
const items = doc.items.slice(0, N);
if (items.length < N) process.stderr.write(`feed_npm.mjs: warning: only ${items.length} items in ${file}\n`);

const base = doc.home_page_url || doc.feed_url || "https://example.invalid/";
const abs = (u) => { if (u == null || u === "") return undefined; try { return new URL(String(u), base).href; } catch { return undefined; } };
// The package passes item ids to new URL() (Atom <id> must be an IRI): a non-IRI id gets a
// stable urn: form, and the raw id still goes to RSS as <guid>.
const iri = (id) => { const s = String(id); try { new URL(s); return s; } catch { return `urn:jsonfeed:${encodeURIComponent(s)}`; } };
const date = (s) => { if (!s) return undefined; const d = new Date(s); return Number.isNaN(d.getTime()) ? undefined : d; };
const person = (a) => {
  if (!a || typeof a !== "object") return undefined;
  const p = {};
  if (a.name) p.name = String(a.name);
  if (a.url) { if (String(a.url).startsWith("mailto:")) p.email = String(a.url).slice(7); else p.link = abs(a.url); }
  if (a.avatar) p.avatar = abs(a.avatar);
  return Object.keys(p).length ? p : undefined;
};
const people = (list) => (Array.isArray(list) ? list.map(person).filter(Boolean) : []);

const feedAuthors = people(doc.authors ?? (doc.author ? [doc.author] : []));
const itemDates = items.flatMap((it) => [date(it.date_modified), date(it.date_published)]).filter(Boolean);
const updated = itemDates.length ? new Date(Math.max(...itemDates.map((d) => d.getTime()))) : new Date(0);

const feed = new Feed({
  id: abs(doc.feed_url) ?? abs(doc.home_page_url) ?? base,
  title: doc.title ?? "",
  description: doc.description,
  link: abs(doc.home_page_url),
  language: doc.language,
  image: abs(doc.icon),
  favicon: abs(doc.favicon),
  updated, // fixed, so the renders don't call new Date()
  feedLinks: { json: abs(doc.feed_url) },
  hub: Array.isArray(doc.hubs) && doc.hubs[0] ? abs(doc.hubs[0].url) : undefined,
  author: feedAuthors[0],
});

for (const it of items) {
  const published = date(it.date_published);
  const modified = date(it.date_modified);
  const item = {
    title: it.title != null ? String(it.title) : "",
    id: iri(it.id),
    guid: String(it.id),
    link: abs(it.url) ?? abs(it.external_url),
    date: modified ?? published ?? updated,
    description: it.summary,
    content: it.content_html ?? it.content_text,
  };
  if (published) item.published = published;
  const authors = people(it.authors ?? (it.author ? [it.author] : []));
  if (authors.length) item.author = authors;
  const contributors = people(it._syndic?.contributors);
  if (contributors.length) item.contributor = contributors;
  if (Array.isArray(it.tags) && it.tags.length) item.category = it.tags.map((t) => ({ name: String(t), term: String(t) }));
  const img = abs(it.image);
  if (img) item.image = img;
  const att = Array.isArray(it.attachments) ? it.attachments.find((a) => a && abs(a.url)) : undefined;
  if (att) {
    const enc = { url: abs(att.url) };
    if (att.mime_type) enc.type = att.mime_type;
    if (att.size_in_bytes != null) enc.length = att.size_in_bytes;
    if (att.title) enc.title = att.title;
    if (att.duration_in_seconds != null) enc.duration = att.duration_in_seconds;
    item.enclosure = enc;
  }
  feed.addItem(item);
}

const formats = [["rss", () => feed.rss2()], ["atom", () => feed.atom1()], ["json", () => feed.json1()]];
const bytes = {};
if (process.env.DUMP) { for (const [k, f] of formats) process.stderr.write(`--- ${k}\n${f().slice(0, 4000)}\n`); }
for (let w = 0; w < WARMUP; w++) for (const [k, f] of formats) bytes[k] = Buffer.byteLength(f());
process.stderr.write(`feed_npm.mjs: feed ${version}, ${items.length} items, ${WARMUP} warm-up rounds, ${RUNS} runs; sizes ${JSON.stringify(bytes)}\n`);

const runs = { rss_ms: [], atom_ms: [], json_ms: [] };
let sink = 0;
for (let r = 0; r < RUNS; r++) {
  for (const [k, f] of formats) {
    const t0 = process.hrtime.bigint();
    const out = f();
    const t1 = process.hrtime.bigint();
    sink += out.length;
    runs[`${k}_ms`].push(Number(t1 - t0) / 1e6);
  }
}
if (sink === 0) die("renders produced nothing");
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const r3 = (x) => Math.round(x * 1000) / 1000;
for (const k of Object.keys(runs)) runs[k] = runs[k].map(r3);
console.log(JSON.stringify({
  tool: "npm feed", version, items: items.length,
  rss_ms: r3(median(runs.rss_ms)), atom_ms: r3(median(runs.atom_ms)), json_ms: r3(median(runs.json_ms)),
  runs, bytes,
}));
